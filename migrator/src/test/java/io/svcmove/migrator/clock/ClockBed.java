package io.svcmove.migrator.clock;

import io.svcmove.testbed.ExecResult;
import io.svcmove.testbed.TestBed;
import java.time.Duration;

/** What the clock ITs need of the bed beyond its services: node clocks. */
final class ClockBed {
    static final Duration SHORT = Duration.ofSeconds(15);

    private ClockBed() {}

    /** CLOCK_MONOTONIC as a command on NODE reads it (the node's time namespace), in ns. */
    static long nodeMonotonicNs(TestBed bed, String node) {
        ExecResult r = bed.exec(node, SHORT, "python3", "-c", "import time; print(time.clock_gettime_ns(time.CLOCK_MONOTONIC))")
                .requireOk();
        return Long.parseLong(r.stdout().trim());
    }
}
