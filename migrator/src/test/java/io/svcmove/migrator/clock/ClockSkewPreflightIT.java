package io.svcmove.migrator.clock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.svcmove.migrator.it.Agents;
import io.svcmove.testbed.ExecResult;
import io.svcmove.testbed.Services;
import io.svcmove.testbed.TestBed;
import io.svcmove.testbed.WithTestBed;
import org.junit.jupiter.api.Test;

/**
 * Issue 7: a move between nodes whose wall clocks differ by more than [move] max_clock_offset_ms
 * (50) is refused before anything changes, and --force moves anyway. The destination's agent
 * reports its wall clock 400 ms ahead (SVCMOVE_CLOCK_SKEW_MS, the test knob).
 */
@WithTestBed
class ClockSkewPreflightIT {
    private static final String SKEW_MS = "400";

    @Test
    void aWallClockOffsetAboveTheBoundRefusesTheMoveAndForceOverrides(TestBed bed) {
        String n1 = bed.nodes().get(0);
        String n2 = bed.nodes().get(1);
        String name = "itskew";
        try {
            Agents.kill(bed, n2, "TERM");
            Agents.start(bed, n2, Agents.of(bed, n2).config(), "SVCMOVE_CLOCK_SKEW_MS=" + SKEW_MS);
            JsonNode off = Services.node(bed, n1, n2).path("clock_offset");
            double wall = off.path("realtime_ms").asDouble();
            assertTrue(Math.abs(wall - 400) <= off.path("uncertainty_ms").asDouble() + 1, n1 + " sees " + n2
                    + "'s wall clock 400 ms ahead: " + off);
            System.out.printf("injected skew: %s sees %s at %s%n", n1, n2, off);

            Services.run(bed, n1, name, bed.nextVip(), "/bin/sleep", "600");
            ExecResult refused = bed.svcmove(n1, name, n2);
            assertEquals(3, refused.exitCode(), "move across a 400 ms wall-clock offset:\n" + refused.describe());
            String msg = refused.stderr();
            for (String part : new String[] {n1, n2, "50 ms", "max_clock_offset_ms", "--force"}) {
                assertTrue(msg.contains(part), "the refusal names " + part + ":\n" + refused.describe());
            }
            assertTrue(msg.matches("(?s).*\\+(39\\d|40\\d)\\.\\d ms.*"), "the refusal gives the offset, about +400 ms:\n"
                    + refused.describe());
            assertEquals("running", service(bed, n1, name), name + " still runs on " + n1);

            JsonNode forced = Services.move(bed, n1, name, n2, "--force");
            assertEquals(n2, forced.path("to").asText(), forced.toString());
            assertEquals("running", service(bed, n2, name), name + " runs on " + n2 + " after --force");

            // Asked on the owner (n2, skewed) to move back, the offset is the same seen from the other side.
            ExecResult back = bed.svcmove(n1, name, n1);
            assertEquals(3, back.exitCode(), "move back across the offset, forwarded to " + n2 + ":\n" + back.describe());
            assertTrue(back.stderr().matches("(?s).*-(39\\d|40\\d)\\.\\d ms.*") && back.stderr().contains("--force"),
                    back.describe());
        } finally {
            Services.stopEverywhere(bed, name);
            Agents.restartNormally(bed, n2);
        }
        JsonNode off = Services.node(bed, n1, n2).path("clock_offset");
        assertTrue(Math.abs(off.path("realtime_ms").asDouble()) < 50, "no skew after a normal restart: " + off);
    }

    private static String service(TestBed bed, String node, String name) {
        ExecResult r = bed.svcmove(node, "status", "--json");
        for (JsonNode s : r.json().path("services")) {
            if (s.path("name").asText().equals(name)) {
                return s.path("state").asText();
            }
        }
        return "absent";
    }
}
