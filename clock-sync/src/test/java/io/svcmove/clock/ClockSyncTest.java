package io.svcmove.clock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import org.junit.jupiter.api.Test;

class ClockSyncTest {
    private static final long MS = 1_000_000L;

    /** A simulated pair of nodes: one true time line, the peer's clocks offset from ours, legs of chosen lengths. */
    private static final class Sim {
        final long wall, mono, boot;
        long trueNs = 1_000 * MS;
        final Deque<long[]> legs = new ArrayDeque<>();

        Sim(long wall, long mono, long boot) {
            this.wall = wall;
            this.mono = mono;
            this.boot = boot;
        }

        ClockReading local() {
            return new ClockReading(1_700_000_000_000L * MS + trueNs, 5_000 * MS + trueNs, 5_100 * MS + trueNs);
        }

        ClockReading peer() {
            ClockReading l = local();
            return new ClockReading(l.realtimeNs() + wall, l.monotonicNs() + mono, l.boottimeNs() + boot);
        }

        ClockSync.PeerStamps probe() {
            long[] leg = legs.removeFirst();
            trueNs += leg[0];
            ClockReading t2 = peer();
            trueNs += leg[1];
            ClockReading t3 = peer();
            trueNs += leg[2];
            return new ClockSync.PeerStamps(t2, t3);
        }
    }

    @Test
    void symmetricLegsGiveTheExactOffsetOfEveryClock() throws Exception {
        Sim s = new Sim(7 * MS, -100_000_000L * MS, 200_000_000L * MS);
        s.legs.add(new long[] {MS / 2, 30_000, MS / 2});
        Offsets o = new ClockSync(s::local).measure(s::probe, 1);
        assertEquals(7 * MS, o.offsetNs(Clock.REALTIME));
        assertEquals(-100_000_000L * MS, o.offsetNs(Clock.MONOTONIC));
        assertEquals(200_000_000L * MS, o.offsetNs(Clock.BOOTTIME));
        assertEquals(MS, o.roundTripNs(), "the peer's own time between t2 and t3 is not round trip");
        assertEquals(MS / 2, o.uncertaintyNs());
    }

    @Test
    void theFastestExchangeWinsAndTheTruthIsWithinItsUncertainty() throws Exception {
        Sim s = new Sim(-3 * MS, 42 * MS, 42 * MS);
        // A slow, lopsided exchange (a thread hop on the way out) would be 9.5 ms off; the fast one is 0.1 ms off.
        s.legs.add(new long[] {20 * MS, 0, MS});
        s.legs.add(new long[] {400_000, 10_000, 200_000});
        s.legs.add(new long[] {5 * MS, 0, 5 * MS});
        Offsets o = new ClockSync(s::local).measure(s::probe, 3);
        assertEquals(3, o.exchanges());
        assertEquals(600_000, o.roundTripNs());
        assertEquals(-3 * MS + 100_000, o.offsetNs(Clock.REALTIME));
        for (Clock c : Clock.values()) {
            long truth = switch (c) {
                case REALTIME -> -3 * MS;
                default -> 42 * MS;
            };
            assertTrue(Math.abs(o.offsetNs(c) - truth) <= o.uncertaintyNs(), c + " within its uncertainty");
        }
    }

    @Test
    void aSteppedWallClockDoesNotChangeTheRoundTrip() {
        ClockReading t1 = new ClockReading(1_000 * MS, 10 * MS, 10 * MS);
        ClockReading t2 = new ClockReading(9_000 * MS, 60 * MS, 60 * MS);
        ClockReading t3 = new ClockReading(9_000 * MS, 60 * MS, 60 * MS);
        ClockReading t4 = new ClockReading(500 * MS, 12 * MS, 12 * MS);
        assertEquals(2 * MS, new Exchange(t1, t2, t3, t4).roundTripNs());
    }

    @Test
    void noExchangeIsAnError() {
        assertThrows(IllegalArgumentException.class, () -> Offsets.best(List.of()));
        assertThrows(IllegalArgumentException.class, () -> new ClockSync(ClockSource.system()).measure(() -> null, 0));
    }

    @Test
    void theSystemClocksAreReadAndAgreeWithThemselves() throws Exception {
        ClockSource sys = ClockSource.system();
        ClockReading a = sys.now();
        ClockReading b = sys.now();
        assertTrue(b.monotonicNs() >= a.monotonicNs() && b.boottimeNs() >= a.boottimeNs());
        assertTrue(Math.abs(a.realtimeNs() / MS - System.currentTimeMillis()) < 1_000, "CLOCK_REALTIME is the JVM's wall clock");
        assertTrue(Math.abs(a.monotonicNs() - System.nanoTime()) < 1_000 * MS, "the JVM's nanoTime is CLOCK_MONOTONIC here");
        Offsets self = new ClockSync(sys).measure(() -> new ClockSync.PeerStamps(sys.now(), sys.now()), 5);
        for (Clock c : Clock.values()) {
            assertTrue(Math.abs(self.offsetNs(c)) <= self.uncertaintyNs() + 1, c + ": " + self);
        }
    }

    @Test
    void anInjectedWallSkewMovesOnlyTheWallClock() throws Exception {
        ClockSource sys = ClockSource.system();
        ClockSource skewed = sys.withWallSkew(Duration.ofMillis(120));
        Offsets o = new ClockSync(sys).measure(() -> new ClockSync.PeerStamps(skewed.now(), skewed.now()), 5);
        assertTrue(Math.abs(o.offsetNs(Clock.REALTIME) - 120 * MS) <= o.uncertaintyNs() + 1, o.toString());
        assertTrue(Math.abs(o.offsetNs(Clock.MONOTONIC)) <= o.uncertaintyNs() + 1, o.toString());
        assertTrue(sys.withWallSkew(Duration.ZERO) == sys);
    }
}
