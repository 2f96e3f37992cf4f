package io.svcmove.migrator.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.svcmove.testbed.ExecResult;
import io.svcmove.testbed.Services;
import io.svcmove.testbed.TestBed;
import io.svcmove.testbed.Wait;
import io.svcmove.testbed.WithTestBed;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Issue 4: nginx moved node1 -> node2 -> node1 -> node2 while the client downloads a 200 MB file
 * from it (8 MB/s, about 25 s) over one TCP connection: asked of the source, of the node that runs
 * it, and of a third node that forwards the request. The download must come out identical.
 * Issue 9: the same with lazy (post-copy) moves.
 */
@WithTestBed
class LiveMoveIT {
    private static final List<String> PHASES = List.of("prepare", "freeze", "transfer", "restore", "announce", "commit");

    @ParameterizedTest(name = "--mode {0}")
    @ValueSource(strings = {"eager", "lazy"})
    void aDownloadSurvivesMovesThereAndBack(String mode, TestBed bed) {
        String n1 = It.node(bed, 0);
        String n2 = It.node(bed, 1);
        String n3 = It.node(bed, 2);
        try (Site site = new Site(bed, "itlive" + mode, bed.nextVip(), "8m").withBigFile(200)) {
            site.start(n1);
            try (Download download = Download.start(site)) {
                Wait.sleep(2000); // a few MB in flight before the first freeze
                move(bed, site, n1, n2, n1, mode, download);
                move(bed, site, n2, n1, n2, mode, download);
                move(bed, site, n1, n2, n3, mode, download); // n3 does not run it: its agent forwards the move
                download.assertCompletes(Duration.ofSeconds(120));
            }
            assertEquals("200", It.httpCode(bed, site.url("index.html")), "it answers after the moves");
        }
    }

    /** `svcmove NAME TO --mode MODE --json` asked on ASKED: a full move, then the service on TO only. */
    private static void move(TestBed bed, Site site, String from, String to, String asked, String mode, Download download) {
        long before = download.bytes();
        ExecResult r = bed.svcmove(asked, site.name, to, "--mode", mode, "--json");
        assertEquals(0, r.exitCode(), "svcmove " + site.name + " " + to + " on " + asked + ":\n" + r.describe());
        JsonNode j = r.json();
        assertTrue(j.path("ok").asBoolean(false), "ok in " + j);
        assertEquals(site.name, j.path("service").asText(), "service in " + j);
        assertEquals(from, j.path("from").asText(), "from in " + j);
        assertEquals(to, j.path("to").asText(), "to in " + j);
        for (String phase : PHASES) {
            assertTrue(j.path("phases_ms").path(phase).isNumber(), "phases_ms." + phase + " in " + j);
        }
        assertTrue(j.path("freeze_ms").isNumber() && j.path("total_ms").isNumber(), "freeze_ms and total_ms in " + j);
        assertEquals(mode, j.path("mode").asText(), "mode in " + j);
        if (mode.equals("lazy")) {
            assertTrue(j.path("last_page_ms").asDouble() >= j.path("freeze_ms").asDouble(), "the last page came after the freeze: " + j);
            assertTrue(j.path("depends_on_source_ms").asDouble() >= 0, "depends_on_source_ms in " + j);
        }
        assertTrue(j.path("events").isArray() && j.path("events").size() > 0, "events in " + j);

        Map<String, String> where = Services.whereIs(bed, site.name);
        assertEquals(Map.of(to, "running"), where, "the nodes whose status lists " + site.name + " after the move to " + to);
        JsonNode svc = Services.on(bed, to).get(site.name);
        assertEquals(j.path("pid").asLong(), svc.path("pid").asLong(), "the pid the move reported vs status on " + to);
        // The move is only a live move if the download was still going through it.
        assertTrue(download.running(), "the download is still under way after the move to " + to + " (it had "
                + before + " bytes before; now: " + download.describe() + ")");
    }
}
