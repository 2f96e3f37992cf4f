package io.svcmove.migrator.clock;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.svcmove.testbed.ExecResult;
import io.svcmove.testbed.TestBed;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/** What the clock ITs need of the bed: services, moves, logs, node clocks. */
final class ClockBed {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Duration SHORT = Duration.ofSeconds(15);

    private ClockBed() {}

    static JsonNode json(ExecResult r) {
        try {
            return JSON.readTree(r.stdout());
        } catch (IOException e) {
            throw new AssertionError("not JSON:\n" + r.describe(), e);
        }
    }

    /** Starts NAME on NODE with VIP, running CMD. */
    static void run(TestBed bed, String node, String name, String vip, String... cmd) {
        List<String> args = new java.util.ArrayList<>(List.of("run", name, "--vip", vip + "/" + bed.prefixLength(), "--"));
        args.addAll(List.of(cmd));
        ExecResult r = bed.svcmove(node, args.toArray(String[]::new));
        assertEquals(0, r.exitCode(), "svcmove run " + name + " on " + node + ":\n" + r.describe());
    }

    /** Moves NAME (from wherever it runs, asked on ASKED) to TO; returns the --json report. */
    static JsonNode move(TestBed bed, String asked, String name, String to, String... extra) {
        List<String> args = new java.util.ArrayList<>(List.of(name, to, "--json"));
        args.addAll(List.of(extra));
        ExecResult r = bed.svcmove(asked, args.toArray(String[]::new));
        assertEquals(0, r.exitCode(), "move of " + name + " to " + to + ":\n" + r.describe());
        return json(r);
    }

    /** Stops NAME wherever it runs; never fails (cleanup). */
    static void stopEverywhere(TestBed bed, String name) {
        for (String n : bed.nodes()) {
            try {
                bed.svcmove(n, "stop", name);
            } catch (RuntimeException e) {
                // best effort: the bed is torn down at the end of the run anyway
            }
        }
    }

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

    /** NODE's peer PEER as `svcmove nodes --json` on NODE shows it. */
    static JsonNode peer(TestBed bed, String node, String peer) {
        ExecResult r = bed.svcmove(node, "nodes", "--json");
        assertEquals(0, r.exitCode(), r.describe());
        for (JsonNode n : json(r).path("nodes")) {
            if (n.path("node").asText().equals(peer)) {
                return n;
            }
        }
        throw new AssertionError("`nodes --json` on " + node + " does not list " + peer + ":\n" + r.stdout());
    }
}
