package io.svcmove.migrator.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.svcmove.testbed.ExecResult;
import io.svcmove.testbed.Services;
import io.svcmove.testbed.TestBed;
import io.svcmove.testbed.Wait;
import io.svcmove.testbed.WithTestBed;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Issue 17: the audit trail. A service is run, moved, drained off its node, refused a move onto
 * the draining node, and stopped; the node is undrained. Each agent that carried out a part logs
 * one AUDIT line for it: the CLI's process (uid 0, its command line) on the node asked, the asking
 * node (from its certificate) on the nodes it forwarded to, the drain for the drain's own move,
 * and the outcome the CLI reported.
 */
@WithTestBed
class AuditIT {
    /** key=value, the value bare or in double quotes with backslash escapes (AuditLine). */
    private static final Pattern FIELD = Pattern.compile("(\\w+)=(\"(?:[^\"\\\\]|\\\\.)*\"|\\S+)");

    @Test
    void everyOperationLeavesOneLineNamingWhoAskedAndHowItEnded(TestBed bed) {
        String n1 = It.node(bed, 0);
        String n2 = It.node(bed, 1);
        String n3 = It.node(bed, 2);
        Map<String, Long> marks = new HashMap<>();
        for (String n : List.of(n1, n2, n3)) {
            marks.put(n, Agents.logMark(bed, n));
        }
        try (Site site = new Site(bed, "itaudit", bed.nextVip(), "4m")) {
            site.start(n1);
            Map<String, String> run = line(bed, n1, marks, "run", site.name);
            assertCli(run, "run " + site.name + " --vip", "ok", 0);

            ExecResult moved = bed.svcmove(n1, "move", site.name, n2);
            assertEquals(0, moved.exitCode(), moved.describe());
            Map<String, String> move = line(bed, n1, marks, "move", site.name);
            assertCli(move, "move " + site.name + " " + n2, "ok", 0);
            assertEquals(n2, move.get("node"), "the destination, in " + move);
            Map<String, String> prepare = line(bed, n2, marks, "move-in", site.name, "step", "prepare");
            assertPeer(prepare, n1, "ok", 0);
            assertTrue(prepare.containsKey("move"), "the move's id: " + prepare);
            for (String step : List.of("restore", "commit")) { // the move's id ties the destination's steps together
                assertPeer(line(bed, n2, marks, "move-in", null, "step", step, "move", prepare.get("move")), n1, "ok", 0);
            }

            // Drained where it runs: the drain's own move is logged as the drain's, its mark locally.
            ExecResult drained = bed.svcmove(n2, "drain", n2);
            assertEquals(0, drained.exitCode(), drained.describe());
            Map<String, String> drainMove = line(bed, n2, marks, "move", site.name, "caller", "drain"); // ends before the drain
            assertEquals(n2, drainMove.get("drained"), drainMove.toString());
            assertOutcome(drainMove, "ok", 0);
            Map<String, String> drain = line(bed, n2, marks, "drain", null, "node", n2);
            assertCli(drain, "drain " + n2, "ok", 0);
            assertEquals("1", drain.get("moved"), drain.toString());
            String now = drainMove.get("node");
            assertEquals(Map.of(now, "running"), Services.whereIs(bed, site.name), "where the drain moved " + site.name);

            // Asked on n1 of a service that may run elsewhere: the node that runs it carries it out, n2 refuses it.
            ExecResult refused = bed.svcmove(n1, "move", site.name, n2);
            assertEquals(3, refused.exitCode(), "a move onto the draining " + n2 + " is refused:\n" + refused.describe());
            assertCli(line(bed, n1, marks, "move", site.name, "node", n2, "caller", "cli"), "move " + site.name + " " + n2,
                    "refused", 3);
            if (!now.equals(n1)) {
                Map<String, String> source = line(bed, now, marks, "move", site.name, "node", n2);
                assertPeer(source, n1, "refused", 3);
                assertTrue(source.get("message").contains("draining"), "the refusal says why: " + source);
            }
            assertPeer(line(bed, n2, marks, "move-in", site.name, "step", "prepare"), now, "refused", 3);

            ExecResult undrained = bed.svcmove(n1, "undrain", n2);
            assertEquals(0, undrained.exitCode(), undrained.describe());
            assertCli(line(bed, n1, marks, "undrain", null, "node", n2), "undrain " + n2, "ok", 0);
            assertPeer(line(bed, n2, marks, "undrain", null), n1, "ok", 0);

            ExecResult stopped = bed.svcmove(now, "stop", site.name);
            assertEquals(0, stopped.exitCode(), stopped.describe());
            assertCli(line(bed, now, marks, "stop", site.name), "stop " + site.name, "ok", 0);
        } finally {
            bed.svcmove(n1, "undrain", n2); // the bed is shared by the tests of this run
        }
    }

    /**
     * The first AUDIT line on NODE since its mark for OP (and SERVICE, and each KEY, VALUE pair of
     * EXTRA), as its fields; the mark moves past it, so that the next call finds the next one.
     */
    private static Map<String, String> line(TestBed bed, String node, Map<String, Long> marks, String op, String service,
            String... extra) {
        String what = node + "'s agent logs an AUDIT line for " + op + (service == null ? "" : " " + service) + " "
                + String.join(" ", extra);
        try {
            Wait.until(It.SHORT, what, () -> find(Agents.logSince(bed, node, marks.get(node)), op, service, extra) != null);
        } catch (AssertionError e) {
            throw new AssertionError(what + "; its AUDIT lines since the last one found:\n" + Agents.logSince(bed, node, marks.get(node))
                    .lines().filter(l -> l.contains(" AUDIT ")).reduce("", (a, b) -> a + b + "\n"), e);
        }
        String log = Agents.logSince(bed, node, marks.get(node));
        String found = find(log, op, service, extra);
        int end = log.indexOf(found) + found.length();
        marks.put(node, marks.get(node) + log.substring(0, end).getBytes(StandardCharsets.UTF_8).length);
        return parse(found);
    }

    private static String find(String log, String op, String service, String... extra) {
        for (String l : log.split("\n")) {
            Map<String, String> f = parse(l);
            boolean match = op.equals(f.get("op")) && (service == null || service.equals(f.get("service")));
            for (int i = 0; i + 1 < extra.length; i += 2) {
                match &= extra[i + 1].equals(f.get(extra[i]));
            }
            if (match) {
                return l;
            }
        }
        return null;
    }

    private static Map<String, String> parse(String line) {
        Map<String, String> f = new HashMap<>();
        int start = line.indexOf(" AUDIT ");
        if (start < 0) {
            return f;
        }
        Matcher m = FIELD.matcher(line.substring(start));
        while (m.find()) {
            String v = m.group(2);
            f.put(m.group(1), v.startsWith("\"") ? v.substring(1, v.length() - 1).replace("\\\"", "\"").replace("\\\\", "\\") : v);
        }
        return f;
    }

    /** Asked through the CLI socket as root, by the svcmove process whose arguments hold ARGS. */
    private static void assertCli(Map<String, String> f, String args, String outcome, int exit) {
        assertEquals("cli", f.get("caller"), f.toString());
        assertEquals("0", f.get("uid"), "root asked: " + f);
        assertTrue(Long.parseLong(f.get("pid")) > 1, "the CLI's pid: " + f);
        assertTrue(f.get("cmdline").contains("svcmove") && (f.get("cmdline") + " ").contains(" " + args + " "),
                "the CLI's command line holds '" + args + "': " + f);
        assertNotEquals(null, f.get("loginuid"), f.toString());
        assertOutcome(f, outcome, exit);
    }

    /** Forwarded by the agent of FROM, as its certificate names it. */
    private static void assertPeer(Map<String, String> f, String from, String outcome, int exit) {
        assertEquals("peer", f.get("caller"), f.toString());
        assertEquals(from, f.get("peer"), "the asking node: " + f);
        assertOutcome(f, outcome, exit);
    }

    private static void assertOutcome(Map<String, String> f, String outcome, int exit) {
        assertEquals(outcome, f.get("outcome"), f.toString());
        assertEquals(Integer.toString(exit), f.get("exit"), f.toString());
        assertTrue(Long.parseLong(f.get("duration_ms")) >= 0, f.toString());
    }
}
