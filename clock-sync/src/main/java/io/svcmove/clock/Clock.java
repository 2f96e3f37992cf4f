package io.svcmove.clock;

import java.util.Locale;

/** The clocks a service reads that can differ between nodes. */
public enum Clock {
    /** Wall clock: shared between nodes only as well as NTP keeps it; no namespace covers it. */
    REALTIME(0),
    /** Counts from the node's boot, so every node has its own; a time namespace can offset it. */
    MONOTONIC(1),
    /** Like MONOTONIC, plus the time the node spent suspended; a time namespace can offset it. */
    BOOTTIME(7);

    /** The clockid_t of clock_gettime(2). */
    final int id;

    Clock(int id) {
        this.id = id;
    }

    /** Lower-case name, as in JSON and in the CLI's output. */
    public String key() {
        return name().toLowerCase(Locale.ROOT);
    }
}
