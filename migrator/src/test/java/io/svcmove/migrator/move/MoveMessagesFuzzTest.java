package io.svcmove.migrator.move;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.svcmove.migrator.control.Forwarded;
import io.svcmove.migrator.peer.Messages;
import java.util.List;

/**
 * The typed messages of a move, read from whatever JSON a peer sends as a body. Only an
 * IllegalArgumentException with a message may escape; what reads is never null, and writes and
 * reads back the same.
 */
class MoveMessagesFuzzTest {
    private static final List<Class<?>> TYPES = List.of(MoveMessages.Prepare.class, MoveMessages.Prepared.class,
            MoveMessages.MoveRef.class, MoveMessages.Restore.class, MoveMessages.Restored.class, MoveMessages.Inject.class,
            MoveMessages.Injected.class, MoveMessages.Kept.class, MoveMessages.Aborted.class, MoveMessages.Active.class,
            MoveMessages.Run.class, Forwarded.class, MoveMessages.ServiceRef.class, MoveMessages.Where.class,
            MoveMessages.LazyCheck.class);
    /** As the peer channel reads bodies. */
    private static final ObjectMapper WIRE = new ObjectMapper();

    @FuzzTest(maxDuration = "10s")
    void read(FuzzedDataProvider data) throws Exception {
        Class<?> type = data.pickValue(TYPES);
        JsonNode body;
        try {
            body = WIRE.readTree(data.consumeRemainingAsString());
        } catch (JsonProcessingException e) {
            return;
        }
        Object m;
        try {
            m = Messages.read(body, type);
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage() != null && !e.getMessage().isBlank(), "no message: " + e);
            return;
        }
        assertNotNull(m, () -> type.getSimpleName() + " read as null from " + body);
        assertInstanceOf(type, m);
        JsonNode written = Messages.tree(m);
        Object again = Messages.read(written, type);
        assertEquals(written, Messages.tree(again), "written and read back differs");
        // The peer channel carries it as text.
        Object carried = Messages.read(WIRE.readTree(WIRE.writeValueAsString(written)), type);
        assertEquals(written, Messages.tree(carried), "does not survive the wire");
    }
}
