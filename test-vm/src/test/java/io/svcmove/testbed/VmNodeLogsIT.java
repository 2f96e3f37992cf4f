package io.svcmove.testbed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Issue 15 on real servers: a service that appends to a log on the node's own disk, moved node1 ->
 * node2 -> node1, goes on appending to the log of the node it runs on. After the moves node1's file
 * holds the lines written before the first move and after the second, node2's those in between,
 * created there (it had none); together, every line once, in order.
 */
@WithTestBed
class VmNodeLogsIT {
    private static final Duration LONG = Duration.ofSeconds(120);
    private static final String LOG = "/var/log/itnodelogs/ticks.log";
    private static final String TICKER = "import os, time\nos.makedirs(os.path.dirname('" + LOG + "'), exist_ok=True)\n"
            + "f = open('" + LOG + "', 'a', buffering=1)\nn = 0\nwhile True:\n    f.write('tick %d\\n' % n)\n    n += 1\n"
            + "    time.sleep(0.05)\n";

    @Test
    void aNodeLocalLogIsAppendedToOnWhicheverNodeTheServiceRuns(TestBed bed) {
        assumeTrue(bed.isVm(), "a VM bed test (SVCMOVE_BED=vm)");
        String n1 = bed.nodes().get(0);
        String n2 = bed.nodes().get(1);
        String name = "itnodelogs";
        try {
            Services.run(bed, n1, name, bed.nextVip(), "python3", "-c", TICKER);
            Wait.until(LONG, "the service logs on " + n1, () -> ticks(bed, n1).size() > 20);
            Services.move(bed, n1, name, n2);
            Wait.until(LONG, "it logs on " + n2, () -> ticks(bed, n2).size() > 20);
            Services.move(bed, n2, name, n1);
            List<Long> before = ticks(bed, n1);
            Wait.until(LONG, "it logs on " + n1 + " again", () -> ticks(bed, n1).size() > before.size() + 20);
            Services.stopEverywhere(bed, name);

            List<Long> on1 = ticks(bed, n1);
            List<Long> on2 = ticks(bed, n2);
            assertTrue(on2.get(0) > on1.get(0) && on2.get(on2.size() - 1) < on1.get(on1.size() - 1),
                    n2 + "'s lines are the middle ones: " + span(on1) + " on " + n1 + ", " + span(on2) + " on " + n2);
            List<Long> all = new ArrayList<>(on1);
            all.addAll(on2);
            all.sort(null);
            for (int i = 0; i < all.size(); i++) {
                assertEquals(all.get(0) + i, all.get(i), "every line once across the two nodes' logs, none lost: " + span(on1) + " on "
                        + n1 + ", " + span(on2) + " on " + n2);
            }
        } finally {
            Services.stopEverywhere(bed, name);
            for (String n : List.of(n1, n2)) {
                bed.exec(n, LONG, "rm", "-rf", "/var/log/itnodelogs");
            }
        }
    }

    /** The tick numbers in NODE's own log, in the file's order. */
    private static List<Long> ticks(TestBed bed, String node) {
        ExecResult r = bed.exec(node, LONG, "cat", LOG);
        return r.ok() ? r.stdout().lines().filter(l -> l.startsWith("tick ")).map(l -> Long.parseLong(l.substring(5))).toList()
                : List.of();
    }

    private static String span(List<Long> ticks) {
        return ticks.isEmpty() ? "none" : ticks.size() + " lines, " + ticks.get(0) + ".." + ticks.get(ticks.size() - 1);
    }
}
