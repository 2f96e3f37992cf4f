package io.svcmove.clock;

/** One reading of the three clocks, in nanoseconds, taken back to back. */
public record ClockReading(long realtimeNs, long monotonicNs, long boottimeNs) {
    public long get(Clock c) {
        return switch (c) {
            case REALTIME -> realtimeNs;
            case MONOTONIC -> monotonicNs;
            case BOOTTIME -> boottimeNs;
        };
    }
}
