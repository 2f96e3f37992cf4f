package io.svcmove.migrator.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.JsonNode;
import io.svcmove.migrator.peer.Messages;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A node's messages on the wire: the names `svcmove nodes` and a drain read. */
class NodeMessagesTest {
    @Test
    void aNodesAnswerHasTheFieldsTheCliReads() {
        JsonNode n = Messages.tree(new NodeMessages.Info("node1", true, "198.18.0.11:7301", "6.8.0", "4.2", 3, 1 << 30, 0.5, 2, false,
                "2027-01-01T00:00:00Z", 25, true));
        assertEquals(List.of("node", "reachable", "address", "kernel", "criu", "services", "mem_available_bytes", "load1", "cpus",
                "draining", "certificate_not_after", "certificate_days_left", "certificate_expires_soon"), names(n));
    }

    @Test
    void anUnreachablePeerAsListedReadsAsNotReachable() throws Exception {
        // As PeerAnswers lists a peer that did not answer: its name, address and why only.
        NodeMessages.Info n = Messages.read(Messages.JSON.readTree("{\"node\":\"node3\",\"address\":\"198.18.0.13:7301\","
                + "\"reachable\":false,\"error\":\"connection refused\"}"), NodeMessages.Info.class);
        assertEquals("node3", n.node());
        assertFalse(n.reachable());
    }

    @Test
    void aDrainsServicesCarryTheirMemory() {
        JsonNode s = Messages.tree(new NodeMessages.Services("node1", List.of(new NodeMessages.Services.Service("web", "198.18.0.100/24",
                4096))));
        assertEquals(4096, s.path("services").path(0).path("rss_bytes").asLong());
        assertEquals(List.of(), Messages.read(Messages.JSON.createObjectNode().put("node", "node1"), NodeMessages.Services.class)
                .services(), "a node that lists none has none");
    }

    private static List<String> names(JsonNode n) {
        List<String> names = new ArrayList<>();
        n.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
