package io.svcmove.clock;

import com.sun.jna.Library;
import com.sun.jna.Native;
import java.time.Duration;

/** Where readings come from: this process's clocks (in its time namespace), possibly with an injected wall-clock skew. */
@FunctionalInterface
public interface ClockSource {
    ClockReading now();

    /** This process's clocks through clock_gettime(2): the JVM has no boot-time clock, nor a monotonic one it names. */
    static ClockSource system() {
        return () -> new ClockReading(Libc.read(Clock.REALTIME), Libc.read(Clock.MONOTONIC), Libc.read(Clock.BOOTTIME));
    }

    /**
     * These readings with {@code skew} added to the wall clock. Time namespaces cannot offset
     * CLOCK_REALTIME, so this is how a test makes one node's wall clock look wrong.
     */
    default ClockSource withWallSkew(Duration skew) {
        long ns = skew.toNanos();
        if (ns == 0) {
            return this;
        }
        return () -> {
            ClockReading r = now();
            return new ClockReading(r.realtimeNs() + ns, r.monotonicNs(), r.boottimeNs());
        };
    }

    /** clock_gettime(2); {@code long[2]} is struct timespec on LP64 Linux. */
    interface Libc extends Library {
        Libc C = Native.load("c", Libc.class);

        int clock_gettime(int clockId, long[] timespec);

        static long read(Clock c) {
            long[] ts = new long[2];
            if (C.clock_gettime(c.id, ts) != 0) {
                throw new IllegalStateException("clock_gettime(" + c + ") failed: errno " + Native.getLastError());
            }
            return ts[0] * 1_000_000_000L + ts[1];
        }
    }
}
