package io.svcmove.migrator.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.svcmove.testbed.Background;
import io.svcmove.testbed.Services;
import io.svcmove.testbed.TestBed;
import io.svcmove.testbed.Wait;
import io.svcmove.testbed.WithTestBed;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The source's agent dies in the middle of a move, with the service frozen (a hook holds the move
 * at a phase while the agent is killed). Restarted, the agent finishes the move from the service's
 * record: killed before the destination was asked to restore, the service resumes on the source;
 * killed after the destination restored it, the destination keeps it. Either way it runs on one
 * node, and the client's download through the move completes intact.
 */
@WithTestBed
class UnfinishedMoveIT {
    private static final String HOOK = "/etc/svcmove/hooks/20-itunfinished";
    private static final Duration DOWNLOAD_END = Duration.ofSeconds(120);

    @ParameterizedTest(name = "killed at {0}: the service ends up on node{1}")
    @CsvSource({"pre-transfer, 1", "pre-announce, 2"})
    void aSourceAgentKilledMidMoveFinishesItWhenRestarted(String phase, int endsOn, TestBed bed) throws Exception {
        String n1 = It.node(bed, 0);
        String n2 = It.node(bed, 1);
        String expected = It.node(bed, endsOn - 1);
        String name = "itunfin" + endsOn;
        Path marker = Files.createTempFile("svcmove-itunfinished-", ".held");
        Files.delete(marker);
        // Holds this test's move at PHASE for 8 s (the hook timeout is 10 s): time to kill the agent there.
        String script = "#!/bin/sh\n[ \"$SVCMOVE_SERVICE\" = " + name + " ] && [ \"$SVCMOVE_HOOK\" = " + phase + " ] || exit 0\n"
                + "touch " + marker + "\nsleep 8\n";
        try (Site site = new Site(bed, name, bed.nextVip(), "2m").withBigFile(24)) {
            bed.exec(n1, It.SHORT, "sh", "-c", "mkdir -p \"${0%/*}\" && printf '%s' \"$1\" > \"$0\" && chmod 0755 \"$0\"", HOOK,
                    script).requireOk();
            site.start(n1);
            long mark = Agents.logMark(bed, n1);
            try (Download download = Download.start(site)) {
                Wait.sleep(1000);
                try (Background move = bed.startBackground(n1, bed.checkout().resolve("bin/svcmove").toString(), name, n2,
                        "--mode", "eager")) {
                    Wait.until(Duration.ofSeconds(30), "the move reaches " + phase + "; it printed: " + move.output(),
                            () -> Files.exists(marker) || !move.isAlive());
                    assertTrue(Files.exists(marker), "the hook held the move at " + phase + ": " + move.output());
                    Agents.kill(bed, n1, "KILL");
                } finally {
                    Agents.ensureRunning(bed, n1);
                }
                Wait.until(Duration.ofSeconds(60), "the restarted " + n1 + " finished the move: " + Services.whereIs(bed, name),
                        () -> Services.whereIs(bed, name).equals(Map.of(expected, "running")));
                assertEquals(List.of(expected + "." + name), Services.cells(bed).stream().filter(c -> c.endsWith("." + name)).toList(),
                        "the cells of " + name);
                assertEquals("200", It.httpCode(bed, site.url("index.html")), name + " answers at " + site.vip);
                String log = Agents.logSince(bed, n1, mark);
                assertTrue(log.contains(name + " was being moved to " + n2), "the restarted agent found the move:\n" + log);
                download.assertCompletes(DOWNLOAD_END);
            }
        } finally {
            bed.exec(n1, It.SHORT, "rm", "-f", HOOK);
            Files.deleteIfExists(marker);
        }
    }
}
