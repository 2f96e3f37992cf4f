package io.svcmove.migrator.peer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.NullNode;
import org.junit.jupiter.api.Test;

/** The typed messages' reading and writing, as every area's handlers and calls use it. */
class MessagesTest {
    public record Ask(String serviceName, long takenAt) {}

    public record Answer(String node, boolean keptHere) {}

    @Test
    void aTypedHandlerReadsSnakeCaseAndAnswersInIt() throws Exception {
        RequestHandler h = Messages.typed(Ask.class, (peer, ask) -> new Answer(peer + ":" + ask.serviceName(), ask.takenAt() == 7));
        JsonNode reply = (JsonNode) h.handle("node1", Messages.JSON.readTree("{\"service_name\":\"web\",\"taken_at\":7,\"newer\":1}"));
        assertEquals(Messages.JSON.readTree("{\"node\":\"node1:web\",\"kept_here\":true}"), reply,
                "fields a newer peer adds are ignored; the reply's names are snake_case");
        assertEquals(new Answer("node1:web", true), Messages.read(reply, Answer.class));
    }

    @Test
    void aMissingBodyIsRefusedWithTheMessagesName() {
        RequestHandler h = Messages.typed(Ask.class, (peer, ask) -> ask);
        for (JsonNode body : new JsonNode[] {null, NullNode.getInstance()}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> h.handle("node1", body));
            assertEquals("malformed Ask message: it has no body", e.getMessage());
        }
        IllegalArgumentException wrong = assertThrows(IllegalArgumentException.class,
                () -> Messages.read(Messages.JSON.createObjectNode().put("taken_at", "soon"), Ask.class));
        assertTrue(wrong.getMessage().startsWith("malformed Ask message: "), wrong.getMessage());
    }
}
