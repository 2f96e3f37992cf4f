package io.svcmove.migrator.clock;

import io.svcmove.testbed.ExecResult;
import io.svcmove.testbed.TestBed;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/** What the clock ITs need of the bed beyond its services: their output, node clocks. */
final class ClockBed {
    static final Duration SHORT = Duration.ofSeconds(15);

    private ClockBed() {}

    /** NAME's output on NODE (its agent's log_dir), "" if none. */
    static List<String> serviceLog(TestBed bed, String node, String name) {
        Path log = Path.of(bed.status().agents().stream().filter(a -> a.node().equals(node)).findFirst().orElseThrow().config())
                .resolveSibling("log").resolve(name + ".log");
        try {
            return Files.exists(log) ? Files.readAllLines(log) : List.of();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** CLOCK_MONOTONIC as a command on NODE reads it (the node's time namespace), in ns. */
    static long nodeMonotonicNs(TestBed bed, String node) {
        ExecResult r = bed.exec(node, SHORT, "python3", "-c", "import time; print(time.clock_gettime_ns(time.CLOCK_MONOTONIC))")
                .requireOk();
        return Long.parseLong(r.stdout().trim());
    }
}
