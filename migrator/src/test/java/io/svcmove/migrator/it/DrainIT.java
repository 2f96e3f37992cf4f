package io.svcmove.migrator.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.svcmove.testbed.ExecResult;
import io.svcmove.testbed.Services;
import io.svcmove.testbed.TestBed;
import io.svcmove.testbed.WithTestBed;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Issue 8: `svcmove drain NODE` before maintenance: three services on node1, each with a client
 * downloading from it, all end on the other nodes with their downloads intact; node1 then refuses
 * moves onto it until `svcmove undrain node1`.
 */
@WithTestBed
class DrainIT {
    @Test
    void drainMovesEveryServiceOffLiveAndKeepsMovesOff(TestBed bed) {
        String n1 = It.node(bed, 0);
        List<Site> sites = new ArrayList<>();
        List<Download> downloads = new ArrayList<>();
        try {
            for (int i = 1; i <= 3; i++) {
                Site site = new Site(bed, "itdrain" + i, bed.nextVip(), "4m").withBigFile(120); // 30 s: longer than the drain
                sites.add(site);
                site.start(n1);
            }
            sites.forEach(site -> downloads.add(Download.start(site)));
            ExecResult r = bed.svcmove(n1, "drain", n1, "--json");
            assertEquals(0, r.exitCode(), "svcmove drain " + n1 + ":\n" + r.describe());
            JsonNode j = r.json();
            assertEquals(3, j.path("moved").asInt(), "moved in " + j);
            Map<String, String> movedTo = new HashMap<>();
            j.path("services").forEach(s -> movedTo.put(s.path("service").asText(), s.path("to").asText()));
            for (Site site : sites) {
                String to = movedTo.get(site.name);
                assertTrue(to != null && !to.equals(n1), site.name + " moved to another node, in " + j);
                assertEquals(Map.of(to, "running"), Services.whereIs(bed, site.name), "where " + site.name + " runs after the drain");
            }
            for (Download d : downloads) {
                assertTrue(d.running(), "a download is still under way after the drain: " + d.describe());
            }

            JsonNode self = bed.svcmove(n1, "nodes", "--json").json().path("nodes").get(0);
            assertTrue(self.path("draining").asBoolean(), n1 + " reports draining in 'svcmove nodes': " + self);
            assertTrue(self.path("mem_available_bytes").asLong() > 0 && self.path("load1").isNumber(), "free memory and load: " + self);

            Site first = sites.get(0);
            ExecResult back = bed.svcmove(n1, first.name, n1);
            assertEquals(3, back.exitCode(), "a move onto the draining " + n1 + " is refused:\n" + back.describe());
            assertTrue(back.stderr().contains(n1 + " is draining"), "the refusal says why:\n" + back.describe());
            assertEquals(Map.of(movedTo.get(first.name), "running"), Services.whereIs(bed, first.name), "the refused move changed nothing");

            for (Download d : downloads) {
                d.assertCompletes(Duration.ofSeconds(120));
            }

            assertEquals(0, bed.svcmove(n1, "undrain", n1).exitCode(), "svcmove undrain " + n1);
            ExecResult again = bed.svcmove(n1, first.name, n1);
            assertEquals(0, again.exitCode(), "after undrain, " + n1 + " takes a move again:\n" + again.describe());
            assertFalse(bed.svcmove(n1, "nodes", "--json").json().path("nodes").get(0).path("draining").asBoolean());
        } finally {
            bed.svcmove(n1, "undrain", n1); // the bed is shared by the tests of this run
            downloads.forEach(Download::close);
            sites.forEach(Site::close);
        }
    }

    @Test
    void badDrainsAreRefusedClearly(TestBed bed) {
        String n1 = It.node(bed, 0);
        ExecResult unknown = bed.svcmove(n1, "drain", "nosuchnode");
        assertEquals(5, unknown.exitCode(), unknown.describe());
        assertTrue(unknown.stderr().contains("unknown node nosuchnode"), unknown.describe());
        ExecResult self = bed.svcmove(n1, "drain", n1, "--to", n1);
        assertEquals(2, self.exitCode(), self.describe());
        assertTrue(self.stderr().contains("is the node being drained"), self.describe());
        assertNotEquals(0, bed.svcmove(n1, "drain").exitCode(), "drain without a node is a usage error");
    }
}
