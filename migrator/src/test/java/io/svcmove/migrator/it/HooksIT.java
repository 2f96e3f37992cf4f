package io.svcmove.migrator.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.svcmove.migrator.move.Phase;
import io.svcmove.testbed.ExecResult;
import io.svcmove.testbed.Services;
import io.svcmove.testbed.TestBed;
import io.svcmove.testbed.WithTestBed;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Issue 8: an executable in the source's hooks directory (/etc/svcmove/hooks, the default) runs
 * before and after each phase of a move with the move in its environment; while it fails at
 * pre-prepare, the move is refused and the service stays where it was.
 */
@WithTestBed
class HooksIT {
    private static final String HOOK = "/etc/svcmove/hooks/10-ithooks";

    @Test
    void hooksSeeEveryPhaseAndAFailingPrePrepareRefusesTheMove(TestBed bed) throws IOException {
        String n1 = It.node(bed, 0);
        String n2 = It.node(bed, 1);
        Path dir = Files.createTempDirectory("svcmove-ithooks-");
        Path calls = dir.resolve("calls.log");
        Path gate = dir.resolve("closed");
        // Only this test's service: the bed and its hooks directory are shared by the run's tests.
        String script = "#!/bin/sh\n[ \"$SVCMOVE_SERVICE\" = ithooks ] || exit 0\n"
                + "echo \"$SVCMOVE_HOOK $SVCMOVE_SERVICE $SVCMOVE_VIP $SVCMOVE_SOURCE $SVCMOVE_DESTINATION\" >> " + calls + "\n"
                + "if [ \"$SVCMOVE_HOOK\" = pre-prepare ] && [ -e " + gate + " ]; then echo 'change freeze in effect'; exit 1; fi\n";
        try (Site site = new Site(bed, "ithooks", bed.nextVip(), "8m")) {
            bed.exec(n1, It.SHORT, "sh", "-c", "mkdir -p \"${0%/*}\" && printf '%s' \"$1\" > \"$0\" && chmod 0755 \"$0\"", HOOK,
                    script).requireOk();
            site.start(n1);

            Files.createFile(gate);
            ExecResult refused = bed.svcmove(n1, site.name, n2);
            assertEquals(3, refused.exitCode(), "the move while the pre-prepare hook fails:\n" + refused.describe());
            assertTrue(refused.stderr().contains("refused by the pre-prepare hook 10-ithooks (exit 1: change freeze in effect)"),
                    "the refusal names the hook and what it said:\n" + refused.describe());
            assertEquals(Map.of(n1, "running"), Services.whereIs(bed, site.name), "the refused move changed nothing");

            Files.delete(gate);
            Files.delete(calls);
            ExecResult moved = bed.svcmove(n1, site.name, n2);
            assertEquals(0, moved.exitCode(), moved.describe());
            assertEquals("200", It.httpCode(bed, site.url("index.html")), "it answers on " + n2);

            String move = " ithooks " + It.cidr(bed, site.vip) + " " + n1 + " " + n2;
            List<String> expected = new ArrayList<>();
            for (Phase p : Phase.values()) {
                expected.add("pre-" + p.label() + move);
                expected.add("post-" + p.label() + move);
            }
            assertEquals(expected, Files.readAllLines(calls), "the hook's calls, in order, with the move in its environment");
        } finally {
            bed.exec(n1, It.SHORT, "rm", "-f", HOOK);
            It.deleteTree(dir);
        }
    }
}
