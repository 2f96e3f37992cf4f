package io.svcmove.migrator.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.svcmove.migrator.control.ControlMessage;
import org.junit.jupiter.api.Test;

class NodesCommandTest {
    private static ObjectNode node(long daysLeft, boolean soon) {
        return ControlMessage.JSON.createObjectNode().put("certificate_not_after", "2026-12-20T10:00:00Z")
                .put("certificate_days_left", daysLeft).put("certificate_expires_soon", soon);
    }

    @Test
    void theCertificateCellMarksWhatNeedsRenewing() {
        assertEquals("2026-12-20 730d", NodesCommand.certificate(node(730, false)));
        assertEquals("2026-12-20 17d RENEW", NodesCommand.certificate(node(17, true)));
        assertEquals("2026-12-20 EXPIRED", NodesCommand.certificate(node(-1, true)));
        assertEquals("-", NodesCommand.certificate(ControlMessage.JSON.createObjectNode()), "an agent from before says nothing");
    }
}
