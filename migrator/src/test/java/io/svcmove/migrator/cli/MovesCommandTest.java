package io.svcmove.migrator.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

/** How `svcmove moves` shows a move's age and progress. */
class MovesCommandTest {
    private static final JsonNodeFactory J = JsonNodeFactory.instance;

    @Test
    void agesReadAtAGlance() {
        assertEquals("850ms", MovesCommand.age(J.numberNode(850)));
        assertEquals("12s", MovesCommand.age(J.numberNode(12_999)));
        assertEquals("3m04s", MovesCommand.age(J.numberNode(184_000)));
        assertEquals("2h05m", MovesCommand.age(J.numberNode((2 * 3600 + 5 * 60 + 9) * 1000L)));
        assertEquals("-", MovesCommand.age(J.nullNode()), "a move known only from its record has no age");
    }

    @Test
    void progressOnceTheTransferBegan() {
        ObjectNode m = J.objectNode().putNull("sent_bytes").putNull("total_bytes");
        assertEquals("-", MovesCommand.progress(m));
        m.put("sent_bytes", 11_000_000L).put("total_bytes", 44_000_000L);
        assertEquals("25% 11.0/44.0 MB", MovesCommand.progress(m));
        m.put("sent_bytes", 0L).put("total_bytes", 0L);
        assertEquals("100% 0.0/0.0 MB", MovesCommand.progress(m), "an empty transfer is complete");
    }
}
