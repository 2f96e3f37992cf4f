package io.svcmove.migrator.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.svcmove.testbed.Background;
import io.svcmove.testbed.ExecResult;
import io.svcmove.testbed.Services;
import io.svcmove.testbed.TestBed;
import io.svcmove.testbed.Wait;
import io.svcmove.testbed.WithTestBed;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 17: `svcmove moves` lists a move while it is under way, asked of the source and of a third
 * node, with the phase and step it is at and its age; a node whose agent is down is listed
 * unreachable without failing the command; nothing is listed once the move ended. The move is held
 * at a named boundary of its step table by the source's fault injection (stall), not raced.
 */
@WithTestBed
class MovesIT {
    private static TestBed bed;
    private static Path fault;

    @BeforeAll
    static void stallingSource(TestBed testBed) throws IOException {
        bed = testBed;
        fault = Files.createTempFile("svcmove-moves-fault-", "");
        Files.delete(fault);
        String n1 = It.node(bed, 0);
        Agents.kill(bed, n1, "TERM");
        Agents.start(bed, n1, Agents.of(bed, n1).config(), "SVCMOVE_FAULTS=" + fault);
    }

    @AfterAll
    static void normalSource() throws IOException {
        Agents.restartNormally(bed, It.node(bed, 0));
        for (String f : List.of("", ".fired", ".reached", ".release")) {
            Files.deleteIfExists(Path.of(fault + f));
        }
    }

    @Test
    void aStalledMoveIsListedFromAnyNodeUntilItEnds() throws Exception {
        String n1 = It.node(bed, 0);
        String n2 = It.node(bed, 1);
        String n3 = It.node(bed, 2);
        String name = "itmoves";
        runOn(n1, name);
        try {
            long asked = System.nanoTime();
            ExecResult move = stalledMove(name, n1, n2, "dump", background -> {
                JsonNode onThird = listedMove(n3, n1, name);
                long elapsedMs = (System.nanoTime() - asked) / 1_000_000;
                assertEquals(n1, onThird.path("from").asText(), onThird.toString());
                assertEquals(n2, onThird.path("to").asText(), onThird.toString());
                assertEquals("eager", onThird.path("mode").asText(), onThird.toString());
                assertEquals("freeze", onThird.path("phase").asText(), "held before the dump: " + onThird);
                assertEquals("dump", onThird.path("step").asText(), onThird.toString());
                assertEquals("frozen", onThird.path("stage").asText(), onThird.toString());
                assertTrue(onThird.path("move_id").asText().startsWith(name + "-"), onThird.toString());
                long age = onThird.path("age_ms").asLong(-1);
                assertTrue(age > 0 && age <= elapsedMs, "age " + age + " ms, and the move was asked " + elapsedMs + " ms ago: " + onThird);

                Wait.sleep(1000);
                JsonNode onSource = listedMove(n1, n1, name);
                assertEquals("dump", onSource.path("step").asText(), onSource.toString());
                assertTrue(onSource.path("age_ms").asLong() >= age + 900, "the age grows: " + age + " ms, then " + onSource);

                ExecResult text = bed.svcmove(n3, "moves");
                assertEquals(0, text.exitCode(), text.describe());
                assertTrue(text.stdout().contains(name) && text.stdout().contains("freeze") && text.stdout().contains("dump"),
                        "the table names the service, its phase and step:\n" + text.describe());

                Agents.kill(bed, n3, "TERM");
                try {
                    ExecResult without = bed.svcmove(n1, "moves", "--json");
                    assertEquals(0, without.exitCode(), "moves with " + n3 + "'s agent down:\n" + without.describe());
                    JsonNode down = Services.nodeIn(without.json(), n3);
                    assertFalse(down.path("reachable").asBoolean(true), n3 + " is listed unreachable: " + without.json());
                    assertFalse(movesOf(without.json(), n1, name).isEmpty(), "the move is still listed: " + without.json());
                    ExecResult table = bed.svcmove(n1, "moves");
                    assertTrue(table.stdout().contains("unreachable: " + n3), table.describe());
                } finally {
                    Agents.start(bed, n3);
                }
            });
            assertEquals(0, move.exitCode(), move.describe());
            for (String node : List.of(n1, n2, n3)) {
                ExecResult after = bed.svcmove(node, "moves", "--json");
                assertEquals(0, after.exitCode(), after.describe());
                for (JsonNode n : after.json().path("nodes")) {
                    assertTrue(n.path("reachable").asBoolean(), "every node answers on " + node + ": " + after.json());
                    assertEquals(0, n.path("moves").size(), "no move is listed once it ended, asked on " + node + ": " + after.json());
                }
                assertTrue(bed.svcmove(node, "moves").stdout().contains("no moves under way"), "text on " + node);
            }
            assertEquals(Map.of(n2, "running"), Services.whereIs(bed, name));
        } finally {
            Files.deleteIfExists(fault);
            Services.stopEverywhere(bed, name);
        }
    }

    /**
     * `svcmove cancel`, asked on a third node while the move is held before its dump: the move rolls
     * back (exit 4) and the service runs on its source. Asked on the destination while the move is
     * held before the source lets go of the VIP (past the point of no return): refused with the
     * reason (exit 3), and the move goes through.
     */
    @Test
    void aCancelRollsBackBeforeTheRestoreAndIsRefusedAfter() throws Exception {
        String n1 = It.node(bed, 0);
        String n2 = It.node(bed, 1);
        String n3 = It.node(bed, 2);
        String name = "itcancel";
        withService(name, () -> {
            rolledBack(name, "cancelled by 'svcmove cancel' on " + n3, background -> {
                ExecResult cancel = bed.svcmove(n3, "cancel", name);
                assertEquals(0, cancel.exitCode(), "cancel before the dump, asked on " + n3 + ":\n" + cancel.describe());
                assertTrue(cancel.stdout().contains(n1), "it names the node the move runs on:\n" + cancel.describe());
            });
            assertEquals(5, bed.svcmove(n1, "cancel", name).exitCode(), "no move of " + name + " is left to cancel");

            ExecResult move = stalledMove(name, n1, n2, "link-down", background -> {
                ExecResult cancel = bed.svcmove(n2, "cancel", name);
                assertEquals(3, cancel.exitCode(), "cancel past the point of no return:\n" + cancel.describe());
                assertTrue(cancel.stderr().contains("can no longer be rolled back"), cancel.describe());
            });
            assertEquals(0, move.exitCode(), "the move a cancel was refused for:\n" + move.describe());
            assertEquals(Map.of(n2, "running"), Services.whereIs(bed, name), "after the move");
        });
    }

    /**
     * Ctrl-C on `svcmove move` while the move is held before its dump: the CLI asks the agent to
     * cancel, says so, keeps waiting, and exits 4 once the move rolled back; the service runs on its
     * source.
     */
    @Test
    void ctrlCOnTheMoveRollsItBack() throws Exception {
        String name = "itctrlc";
        withService(name, () -> rolledBack(name, "cancelled by Ctrl-C on 'svcmove move' on " + It.node(bed, 0), background -> {
            interrupt(background);
            Wait.until(Duration.ofSeconds(30), "the CLI says it cancels: " + background.output(),
                    () -> background.output().contains("cancelling"));
            assertTrue(background.isAlive(), "it waits for the rollback: " + background.output());
        }));
    }

    /**
     * Ctrl-C on a move that its node has not begun: asked on a third node (forwarded to the source),
     * it waits there for the source's other move, held before its dump, and reports no phase. The
     * cancel is taken all the same (the move is listed, at phase "starting"): once the other move
     * ended, this one stops before its steps (exit 4, nothing changed) and its service stays.
     */
    @Test
    void ctrlCOnAMoveNotBegunStopsItBeforeItsSteps() throws Exception {
        String n1 = It.node(bed, 0);
        String n2 = It.node(bed, 1);
        String n3 = It.node(bed, 2);
        String waiting = "itnotbegun";
        runOn(n1, waiting);
        Background[] later = new Background[1];
        try {
            withService("itbusy", () -> {
                ExecResult busy = stalledMove("itbusy", n1, n2, "dump", held -> {
                    later[0] = bed.startBackground(n3, bed.checkout().resolve("bin/svcmove").toString(), waiting, n2, "--mode", "eager");
                    Wait.until(Duration.ofSeconds(30), n1 + " lists the move of " + waiting + " as starting: " + later[0].output(),
                            () -> startingOn(n1, waiting));
                    assertFalse(later[0].output().contains("done in"), "no phase reported: " + later[0].output());
                    interrupt(later[0]);
                    Wait.until(Duration.ofSeconds(30), "the CLI says it cancels: " + later[0].output(),
                            () -> later[0].output().contains("cancelling"));
                    assertTrue(later[0].isAlive(), "it waits for the move's end: " + later[0].output());
                });
                assertEquals(0, busy.exitCode(), "the move the cancelled one waited for went through:\n" + busy.describe());
                Wait.until(Duration.ofSeconds(60), "the cancelled move ends: " + later[0].output(), () -> !later[0].isAlive());
                ExecResult cancelled = new ExecResult(later[0].command(), later[0].stop(), later[0].output(), "", false);
                assertEquals(4, cancelled.exitCode(), "the cancelled move:\n" + cancelled.describe());
                assertTrue(cancelled.stdout().contains("cancelled by Ctrl-C on 'svcmove move' on " + n3 + ", before the pre-prepare hooks")
                        && cancelled.stdout().contains("nothing had changed, " + waiting + " still runs on " + n1), cancelled.describe());
                assertEquals(Map.of(n1, "running"), Services.whereIs(bed, waiting), "after the cancel");
            });
        } finally {
            if (later[0] != null) {
                later[0].close();
            }
            Services.stopEverywhere(bed, waiting);
        }
    }

    /** Whether SOURCE lists a move of NAME that has not begun its steps. */
    private static boolean startingOn(String source, String name) {
        ExecResult r = bed.svcmove(source, "moves", "--json");
        return r.exitCode() == 0 && movesOf(r.json(), source, name).stream().anyMatch(m -> m.path("phase").asText().equals("starting"));
    }

    /**
     * [move] timeout_s: a move held before its dump past its limit is cancelled by the source's agent
     * (which logs it), rolls back at the next step (exit 4, the limit named) and the service stays.
     */
    @Test
    void aMoveThatOutlastsItsTimeoutIsRolledBack() throws Exception {
        String n1 = It.node(bed, 0);
        String name = "ittimeout";
        Path config = Files.createTempFile("svcmove-moves-timeout-", ".toml");
        Files.writeString(config, Files.readString(Path.of(Agents.of(bed, n1).config())) + "\n[move]\ntimeout_s = 2\n");
        Agents.kill(bed, n1, "TERM");
        Agents.start(bed, n1, config.toString(), "SVCMOVE_FAULTS=" + fault);
        try {
            long mark = Agents.logMark(bed, n1);
            withService(name, () -> rolledBack(name, "cancelled by its [move] timeout_s (2 s)", background -> Wait.until(
                    Duration.ofSeconds(30), "the source's agent cancels the move at its limit",
                    () -> Agents.logSince(bed, n1, mark).contains("outlasted [move] timeout_s (2 s)"))));
        } finally {
            Agents.kill(bed, n1, "TERM");
            Agents.start(bed, n1, Agents.of(bed, n1).config(), "SVCMOVE_FAULTS=" + fault);
            Files.deleteIfExists(config);
        }
    }

    /** NAME runs on the first node while {@code body} moves it; then the fault is cleared and NAME stopped everywhere. */
    private static void withService(String name, Body body) throws Exception {
        runOn(It.node(bed, 0), name);
        try {
            body.run();
        } finally {
            Files.deleteIfExists(fault);
            Services.stopEverywhere(bed, name);
        }
    }

    /**
     * A move of NAME to the second node held before its dump while {@code cancel} runs: it rolls back
     * (exit 4) naming {@code cause}, and NAME runs on the first node as before.
     */
    private static void rolledBack(String name, String cause, WhileHeld cancel) throws Exception {
        String n1 = It.node(bed, 0);
        ExecResult move = stalledMove(name, n1, It.node(bed, 1), "dump", cancel);
        assertEquals(4, move.exitCode(), "the cancelled move:\n" + move.describe());
        assertTrue(move.stdout().contains(cause) && move.stdout().contains("still runs on " + n1), move.describe());
        assertEquals(Map.of(n1, "running"), Services.whereIs(bed, name), "after the cancel");
    }

    private interface Body {
        void run() throws Exception;
    }

    /** SIGINT to the CLI's JVM, as Ctrl-C in its terminal sends it (the bed's wrappers exec into it, or start it). */
    private static void interrupt(Background cli) throws Exception {
        List<ProcessHandle> tree = new ArrayList<>(List.of(cli.handle()));
        cli.handle().descendants().forEach(tree::add);
        ProcessHandle java = tree.stream().filter(p -> p.info().command().orElse("").endsWith("/java")).findFirst()
                .orElseThrow(() -> new AssertionError("no JVM under the CLI's process " + cli.pid()));
        assertEquals(0, new ProcessBuilder("kill", "-INT", Long.toString(java.pid())).inheritIO().start().waitFor());
    }

    /** A move of NAME from FROM to TO held at BOUNDARY while {@code meanwhile} runs, then released; how it ended. */
    private static ExecResult stalledMove(String name, String from, String to, String boundary, WhileHeld meanwhile) throws Exception {
        Files.writeString(fault, "stall " + boundary + "\n");
        try (Background move = bed.startBackground(from, bed.checkout().resolve("bin/svcmove").toString(), name, to, "--mode",
                "eager")) {
            Wait.until(Duration.ofSeconds(60), "the move reaches " + boundary + ": " + move.output(),
                    () -> Files.exists(Path.of(fault + ".reached")));
            try {
                meanwhile.run(move);
            } finally {
                Files.writeString(Path.of(fault + ".release"), "");
            }
            Wait.until(Duration.ofSeconds(60), "the move ends: " + move.output(), () -> !move.isAlive());
            return new ExecResult(move.command(), move.stop(), move.output(), "", false);
        }
    }

    /** What a test does while the move is held: given the move's CLI, running. */
    private interface WhileHeld {
        void run(Background move) throws Exception;
    }

    private static void runOn(String node, String name) {
        ExecResult run = bed.svcmove(node, "run", name, "--vip", It.cidr(bed, bed.nextVip()), "--", "sleep", "600");
        assertEquals(0, run.exitCode(), run.describe());
    }

    /** `svcmove moves --json` asked on ASKED: the one move of NAME that SOURCE reports. */
    private static JsonNode listedMove(String asked, String source, String name) {
        ExecResult r = bed.svcmove(asked, "moves", "--json");
        assertEquals(0, r.exitCode(), r.describe());
        List<JsonNode> m = movesOf(r.json(), source, name);
        assertEquals(1, m.size(), "one move of " + name + " from " + source + ", asked on " + asked + ": " + r.json());
        return m.get(0);
    }

    private static List<JsonNode> movesOf(JsonNode answer, String source, String name) {
        List<JsonNode> out = new ArrayList<>();
        Services.nodeIn(answer, source).path("moves").forEach(m -> {
            if (m.path("service").asText().equals(name)) {
                out.add(m);
            }
        });
        return out;
    }
}
