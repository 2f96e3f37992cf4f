package io.svcmove.migrator.move;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class PrecopyPolicyTest {
    @Test
    void goesOnWhileRoundsShrinkByATenth() {
        assertTrue(PrecopyPolicy.stop(List.of()).isEmpty());
        assertTrue(PrecopyPolicy.stop(List.of(65_536L)).isEmpty());
        assertTrue(PrecopyPolicy.stop(List.of(65_536L, 1_000L)).isEmpty());
        assertTrue(PrecopyPolicy.stop(List.of(1_000L, 900L)).isEmpty(), "exactly 10 % fewer is enough");
    }

    @Test
    void stopsUnderSixtyFourPages() {
        assertEquals("round 1 wrote 63 pages, under 64", PrecopyPolicy.stop(List.of(63L)).orElseThrow());
        assertTrue(PrecopyPolicy.stop(List.of(64L)).isEmpty());
        assertTrue(PrecopyPolicy.stop(List.of(5_000L, 10L)).isPresent());
    }

    @Test
    void stopsWhenARoundDoesNotShrinkByATenth() {
        assertEquals("round 2 wrote 901 pages against 1000 before it, not 10 % fewer",
                PrecopyPolicy.stop(List.of(1_000L, 901L)).orElseThrow());
        assertTrue(PrecopyPolicy.stop(List.of(1_000L, 1_200L)).isPresent(), "a round that grew");
    }

    @Test
    void stopsAfterEightRounds() {
        List<Long> halving = List.of(100_000L, 50_000L, 25_000L, 12_000L, 6_000L, 3_000L, 1_500L);
        assertTrue(PrecopyPolicy.stop(halving).isEmpty());
        List<Long> eight = new ArrayList<>(halving);
        eight.add(700L);
        assertEquals("at most 8 rounds", PrecopyPolicy.stop(eight).orElseThrow());
    }
}
