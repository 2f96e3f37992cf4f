package io.svcmove.migrator.clock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.svcmove.testbed.Services;
import io.svcmove.testbed.TestBed;
import io.svcmove.testbed.Wait;
import io.svcmove.testbed.WithTestBed;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Issue 7: on nodes whose boot times differ by a day or more, a service that prints its
 * CLOCK_MONOTONIC and CLOCK_BOOTTIME every 10 ms sees them continue across a move there and back:
 * no step backwards, and no step larger than the freeze (the cell's time namespace, carried by CRIU).
 */
@WithTestBed
class MonotonicAcrossMovesIT {
    private static final long MS = 1_000_000L;
    /** Python writes a line every 10 ms; scheduling on a busy 2-core machine may add a little. */
    private static final long SLACK_MS = 250;
    /** Lines: sequence number, monotonic ns, boot-time ns. Bounded: 6000 lines (about a minute). */
    private static final String TICKER = "import time\n"
            + "for i in range(6000):\n"
            + "    print(i, time.clock_gettime_ns(time.CLOCK_MONOTONIC), time.clock_gettime_ns(time.CLOCK_BOOTTIME), flush=True)\n"
            + "    time.sleep(0.01)\n";

    @Test
    void monotonicAndBootTimeClocksNeverStepAcrossMovesBothWays(TestBed bed) {
        String n1 = bed.nodes().get(0);
        String n2 = bed.nodes().get(1);
        String name = "itclock";

        // The bed's nodes really differ: their agents measure each other's monotonic clocks ~100000 s apart.
        JsonNode off = Services.node(bed, n1, n2).path("clock_offset");
        double uncertaintyMs = off.path("uncertainty_ms").asDouble();
        long bootGapMs = Math.round(off.path("monotonic_ms").asDouble());
        assertTrue(Math.abs(bootGapMs) > 3_600_000, n2 + "'s monotonic clock is hours away from " + n1 + "'s: " + off);
        assertTrue(uncertaintyMs > 0 && uncertaintyMs < 50, "the offset's uncertainty is a round trip's half: " + off);
        System.out.printf("offsets of %s seen from %s: %s%n", n2, n1, off);

        try {
            Services.run(bed, n1, name, bed.nextVip(), "/usr/bin/python3", "-u", "-c", TICKER);
            Wait.until(Duration.ofSeconds(20), name + " prints", () -> Services.log(bed, n1, name).size() > 50);
            // A new cell starts with its node's clocks.
            List<String> early = Services.log(bed, n1, name);
            long nodeNow = ClockBed.nodeMonotonicNs(bed, n1);
            long cellLast = Long.parseLong(early.get(early.size() - 1).split(" ")[1]);
            assertTrue(cellLast <= nodeNow && nodeNow - cellLast < 5_000 * MS, "the service's monotonic clock " + cellLast
                    + " is " + n1 + "'s (" + nodeNow + ")");

            JsonNode there = Services.move(bed, n1, name, n2);
            Wait.sleep(500);
            JsonNode back = Services.move(bed, n1, name, n1);
            Wait.sleep(500);
            Services.stopEverywhere(bed, name);

            // Lines by sequence number, from both nodes' logs: the relay of each node wrote its part.
            TreeMap<Integer, long[]> lines = new TreeMap<>();
            for (String n : List.of(n1, n2)) {
                for (String l : Services.log(bed, n, name)) {
                    String[] f = l.trim().split(" ");
                    if (f.length == 3) {
                        lines.put(Integer.parseInt(f[0]), new long[] {Long.parseLong(f[1]), Long.parseLong(f[2])});
                    }
                }
            }
            assertEquals(lines.lastKey() + 1, lines.size(), "every line of the service is in a log, once: " + lines.size()
                    + " lines up to " + lines.lastKey());
            double freeze = Math.max(there.path("freeze_ms").asDouble(), back.path("freeze_ms").asDouble());
            long bound = Math.round(freeze) + SLACK_MS;
            List<Long> bigSteps = new ArrayList<>();
            long[] prev = null;
            long maxMono = 0;
            long maxBoot = 0;
            for (var e : lines.entrySet()) {
                long[] cur = e.getValue();
                if (prev != null) {
                    long dMono = cur[0] - prev[0];
                    long dBoot = cur[1] - prev[1];
                    assertTrue(dMono >= 0, "CLOCK_MONOTONIC stepped back by " + -dMono + " ns at line " + e.getKey());
                    assertTrue(dBoot >= 0, "CLOCK_BOOTTIME stepped back by " + -dBoot + " ns at line " + e.getKey());
                    assertTrue(dMono <= bound * MS, "CLOCK_MONOTONIC leapt " + dMono / MS + " ms at line " + e.getKey()
                            + " (freeze " + freeze + " ms)");
                    assertTrue(dBoot <= bound * MS, "CLOCK_BOOTTIME leapt " + dBoot / MS + " ms at line " + e.getKey()
                            + " (freeze " + freeze + " ms)");
                    if (dMono > 50 * MS) {
                        bigSteps.add(dMono / 1000);
                    }
                    maxMono = Math.max(maxMono, dMono);
                    maxBoot = Math.max(maxBoot, dBoot);
                }
                prev = cur;
            }
            System.out.printf("%d lines; freezes %.1f ms (%s to %s) and %.1f ms (back); largest steps: monotonic %.1f ms,"
                    + " boot-time %.1f ms; steps over 50 ms (us): %s%n", lines.size(), there.path("freeze_ms").asDouble(), n1, n2,
                    back.path("freeze_ms").asDouble(), maxMono / 1e6, maxBoot / 1e6, bigSteps);
            assertTrue(Services.log(bed, n2, name).size() > 10, "the service printed on " + n2 + " between the moves");
        } finally {
            Services.stopEverywhere(bed, name);
        }
    }
}
