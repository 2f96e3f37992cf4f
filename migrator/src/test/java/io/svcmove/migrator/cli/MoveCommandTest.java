package io.svcmove.migrator.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.svcmove.migrator.control.ControlException;
import io.svcmove.migrator.control.Outcome;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/** Ctrl-C's cancel, asked of an agent that may not have begun the move yet. */
class MoveCommandTest {
    private static final JsonNode TAKEN = JsonNodeFactory.instance.objectNode().put("at", "starting");
    private final AtomicInteger asked = new AtomicInteger();
    private final AtomicInteger toldNotYet = new AtomicInteger();

    /** An agent whose cancel finds no move until it has been asked {@code misses} times, then answers or throws {@code then}. */
    private Supplier<JsonNode> agent(int misses, Supplier<JsonNode> then) {
        return () -> asked.incrementAndGet() <= misses ? notFound() : then.get();
    }

    private static JsonNode notFound() {
        throw new ControlException(Outcome.NOT_FOUND, "no move of web is under way on n1 or on any peer that answered");
    }

    @Test
    void aCancelBeforeTheMoveBeganIsAskedAgainUntilTheMoveHasBegun() throws Exception {
        JsonNode r = MoveCommand.cancelOnceBegun(agent(3, () -> TAKEN), () -> false, toldNotYet::incrementAndGet, Duration.ZERO);
        assertEquals(TAKEN, r);
        assertEquals(4, asked.get());
        assertEquals(1, toldNotYet.get(), "the CLI says once that the move has not begun");
    }

    @Test
    void aMoveBegunAtOnceIsCancelledWithoutAWord() throws Exception {
        assertEquals(TAKEN, MoveCommand.cancelOnceBegun(agent(0, () -> TAKEN), () -> false, toldNotYet::incrementAndGet, Duration.ZERO));
        assertEquals(0, toldNotYet.get());
    }

    @Test
    void noMoreAskingOnceTheMoveWasAnswered() throws Exception {
        AtomicInteger checks = new AtomicInteger();
        assertNull(MoveCommand.cancelOnceBegun(agent(Integer.MAX_VALUE, () -> TAKEN), () -> checks.incrementAndGet() > 2,
                toldNotYet::incrementAndGet, Duration.ZERO), "its outcome says what became of it");
        assertEquals(3, asked.get());
    }

    @Test
    void aCancelRefusedPastThePointOfNoReturnIsNotAskedAgain() {
        ControlException e = assertThrows(ControlException.class, () -> MoveCommand.cancelOnceBegun(agent(1, () -> {
            throw new ControlException(Outcome.REFUSED, "the move of web cannot be cancelled: it is at the step restore");
        }), () -> false, toldNotYet::incrementAndGet, Duration.ZERO));
        assertEquals(Outcome.REFUSED, e.outcome());
        assertEquals(2, asked.get());
    }
}
