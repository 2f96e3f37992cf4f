package io.svcmove.migrator.move;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.svcmove.migrator.config.AgentConfig;
import io.svcmove.migrator.control.ControlException;
import io.svcmove.migrator.control.ControlMessage;
import io.svcmove.migrator.control.Outcome;
import io.svcmove.migrator.service.ServiceRecord;
import io.svcmove.migrator.service.ServiceRegistry;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A move's destination is checked against the [[peers]] in force, as a reload left them, not those the agent started with. */
class MovesReloadTest {
    @TempDir Path state;

    /** [[peers]] of these names (the address is never dialled here). */
    static List<AgentConfig.Peer> peers(String... names) {
        return Stream.of(names).map(n -> new AgentConfig.Peer(n, "127.0.0.1:7302")).toList();
    }

    @Test
    void aMoveGoesToAPeerAddedByAReloadAndNotToOneItRemoved() throws Exception {
        ServiceRegistry registry = new ServiceRegistry(state);
        registry.save(new ServiceRecord("web", "node1", "198.18.0.100/24", "02:5c:c6:12:00:64", "eth0", null, List.of("sleep"),
                Map.of(), "/", 4242, 0, "node1.web", 0, null, null, null, null, null, null));
        AgentConfig started = new AgentConfig("node1", "127.0.0.1:7301", null, state.toString(), state.resolve("log").toString(), null,
                null, null, null, null, null, peers("node2", "node3"));
        AtomicReference<AgentConfig> inForce = new AtomicReference<>(started);
        // No CRIU here: a move that passes the node check is refused at the next one, which names CRIU.
        Moves moves = new Moves(inForce::get, null, registry, null, null, null, null, null, FaultInjection.OFF, new MoveMetrics() {
            @Override
            public void ended(String mode, Outcome outcome) {}

            @Override
            public void completed(OutgoingMove.Report report) {}
        });

        inForce.set(started.withPeersAndTls(peers("node2", "node4"), null));

        ControlException removed = assertThrows(ControlException.class, () -> moveTo(moves, "node3"));
        assertEquals(Outcome.NOT_FOUND, removed.outcome());
        assertEquals("unknown node node3: node1 knows node2, node4 (the [[peers]] of its agent.toml)", removed.getMessage());
        ControlException added = assertThrows(ControlException.class, () -> moveTo(moves, "node4"));
        assertEquals(Outcome.REFUSED, added.outcome(), added.getMessage());
        assertTrue(added.getMessage().startsWith("CRIU is missing or does not work on node1"), added.getMessage());
    }

    private static void moveTo(Moves moves, String node) throws Exception {
        moves.move(ControlMessage.JSON.createObjectNode().put("name", "web").put("node", node).put("mode", "eager"), e -> {});
    }
}
