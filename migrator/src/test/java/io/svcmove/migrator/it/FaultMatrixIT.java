package io.svcmove.migrator.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A move is a transaction: for each boundary of the move's step table and each fault there (the
 * source's agent crashes, the destination's agent crashes, the agents' link is cut, the step
 * fails), once the crashed agent is back or the link healed, the service runs on exactly one
 * node, its cell exists only there, every node's status agrees, no images are left, and its
 * client's connection (an echo every 10 ms) went on with every reply right. The move's exit code
 * must say what happened. Faults are injected at the named boundary (SVCMOVE_FAULTS), never raced.
 *
 * <p>CI runs the eager boundaries from the freeze to the commit with the source crashing, the
 * destination crashing and the cut; {@code make faults} (SVCMOVE_FAULT_MATRIX=all) runs every
 * boundary, every fault, eager and lazy. The table of outcomes is printed at the end.
 */
@WithTestBed
class FaultMatrixIT {
    /** The source's step table, in order (OutgoingMove); the destination's own boundaries follow. */
    static final List<String> SOURCE_BOUNDARIES = List.of("prepare", "images", "hold-control", "page-gate", "buffer", "pre-dump", "hold",
            "dump", "transfer", "restore", "link-down", "announce", "drain", "pages", "commit", "kill-copy", "remove-cell", "uncarry",
            "forget", "images-gone", "page-gate-closed");
    static final List<String> DESTINATION_BOUNDARIES = List.of("dest-prepare", "dest-restore", "dest-restored", "dest-arrived",
            "dest-announce", "dest-commit");
    /** From the freeze (hold) to the commit. */
    static final List<String> CI_BOUNDARIES = SOURCE_BOUNDARIES.subList(SOURCE_BOUNDARIES.indexOf("hold"),
            SOURCE_BOUNDARIES.indexOf("commit") + 1);
    private static final int CALL_TIMEOUT_S = 6;
    /** A cut lasts the peer-call timeout plus 5 s, except in the named long one. */
    private static final Duration CUT = Duration.ofSeconds(CALL_TIMEOUT_S + 5);
    private static final Duration LONG_CUT = Duration.ofSeconds(45);
    private static final int PORT = 7000;
    private static final String NAME = "itfm";
    private static final List<String> ROWS = new ArrayList<>();
    /** The matrix has more cases than the bed has VIPs: each case stops its service, so a few VIPs go round. */
    private static final List<String> VIPS = new ArrayList<>();
    private static int cases;
    private static TestBed bed;
    private static Path dir;

    enum Fault { SOURCE_CRASH, DESTINATION_CRASH, CUT, FAIL }

    static Stream<Arguments> cases() {
        String only = System.getenv("SVCMOVE_FAULT_MATRIX");
        boolean all = only != null && !only.isBlank();
        List<Arguments> out = new ArrayList<>();
        for (String mode : all ? List.of("eager", "lazy") : List.of("eager")) {
            for (String b : all ? SOURCE_BOUNDARIES : CI_BOUNDARIES) {
                for (Fault f : all ? List.of(Fault.values()) : List.of(Fault.SOURCE_CRASH, Fault.DESTINATION_CRASH, Fault.CUT)) {
                    out.add(Arguments.of(mode, b, f));
                }
            }
            if (all) {
                for (String b : DESTINATION_BOUNDARIES) {
                    out.add(Arguments.of(mode, b, Fault.DESTINATION_CRASH));
                    out.add(Arguments.of(mode, b, Fault.FAIL));
                }
            }
        }
        // SVCMOVE_FAULT_MATRIX=all: every case; or a list of MODE:BOUNDARY:FAULT (e.g. eager:restore:cut) to run only those.
        return out.stream().filter(a -> only == null || only.isBlank() || only.equals("all") || List.of(only.split(",")).contains(
                a.get()[0] + ":" + a.get()[1] + ":" + a.get()[2].toString().toLowerCase()));
    }

    @BeforeAll
    static void faultyAgents(TestBed testBed) throws IOException {
        bed = testBed;
        dir = Files.createTempDirectory("svcmove-faults-");
        for (String n : List.of(It.node(bed, 0), It.node(bed, 1))) {
            restart(n);
        }
        System.out.println("fault matrix: step table of a move (" + SOURCE_BOUNDARIES.size() + " source boundaries): "
                + String.join(" > ", SOURCE_BOUNDARIES) + "; destination boundaries: " + String.join(", ", DESTINATION_BOUNDARIES));
    }

    @AfterAll
    static void table() throws IOException {
        System.out.println("\nfault matrix (" + ROWS.size() + " cases)\n| mode | boundary | fault | move exit | ended on | client ok |\n"
                + "|---|---|---|---:|---|---|");
        ROWS.forEach(System.out::println);
        for (String n : List.of(It.node(bed, 0), It.node(bed, 1))) {
            Agents.restartNormally(bed, n);
        }
        It.deleteTree(dir);
    }

    /** The node's agent with fault injection on and short peer calls. */
    private static void restart(String node) throws IOException {
        if (Agents.pid(bed, node).isPresent()) {
            Agents.kill(bed, node, "TERM");
        }
        start(node);
    }

    private static void start(String node) throws IOException {
        Path config = dir.resolve(node + ".toml");
        if (!Files.exists(config)) {
            Files.writeString(config, Files.readString(Path.of(Agents.of(bed, node).config())) + "\n[move]\ncall_timeout_s = "
                    + CALL_TIMEOUT_S + "\n");
        }
        Agents.start(bed, node, config.toString(), "SVCMOVE_FAULTS=" + faultFile(node));
    }

    private static Path faultFile(String node) {
        return dir.resolve(node + ".fault");
    }

    /**
     * The case that lost a service before moves were transactions: the destination's agent SIGKILLed
     * right before the commit, then restarted. The move cannot know the outcome (exit 6); the
     * agents settle it: the service runs on the destination, the source's frozen copy is gone.
     */
    @Test
    void theDestinationKilledRightBeforeTheCommitKeepsTheServiceOnce() throws Exception {
        assertEquals(6, faultAt("eager", "commit", Fault.DESTINATION_CRASH, CUT), "the move's exit code");
    }

    /**
     * The link cut for 45 s right before the restore, far beyond every call timeout and several
     * rounds of the source's retries: the move cannot know whether the destination restored (exit
     * 6); once healed the agents settle it, and the client's connection goes on (from its backed-off
     * retransmission).
     */
    @Test
    void aLongCutBeforeTheRestoreIsSettledOnceItHeals() throws Exception {
        assertEquals(6, faultAt("eager", "restore", Fault.CUT, LONG_CUT), "the move's exit code");
    }

    /** A stop while the service is moving is refused, names the move, and changes nothing; the move then ends well. */
    @Test
    void stopDuringAMoveIsRefusedAndChangesNothing() throws Exception {
        String src = It.node(bed, 0);
        String dst = It.node(bed, 1);
        String name = "itfmstop";
        ExecResult run = bed.svcmove(src, "run", name, "--vip", It.cidr(bed, bed.nextVip()), "--", "sleep", "600");
        assertEquals(0, run.exitCode(), run.describe());
        try {
            Files.writeString(faultFile(src), "stall transfer\n");
            try (Background move = bed.startBackground(src, bed.checkout().resolve("bin/svcmove").toString(), name, dst)) {
                Path reached = Path.of(faultFile(src) + ".reached");
                Wait.until(Duration.ofSeconds(60), "the move reaches transfer: " + move.output(), () -> Files.exists(reached));
                ExecResult stop = bed.svcmove(src, "stop", name);
                assertEquals(3, stop.exitCode(), stop.describe());
                assertTrue(stop.stderr().contains("is being moved to " + dst), stop.describe());
                assertEquals(5, bed.svcmove(dst, "stop", name).exitCode(), "nothing to stop on " + dst + " before it arrived");
                Files.writeString(Path.of(faultFile(src) + ".release"), "");
                Wait.until(Duration.ofSeconds(60), "the move ends: " + move.output(), () -> !move.isAlive());
                assertEquals(0, move.stop(), move.output());
            }
            assertEquals(Map.of(dst, "running"), Services.whereIs(bed, name));
            assertEquals(0, bed.svcmove(dst, "stop", name).exitCode());
        } finally {
            Files.deleteIfExists(faultFile(src));
            Services.stopEverywhere(bed, name);
        }
    }

    @ParameterizedTest(name = "{0} move, {2} at {1}")
    @MethodSource("cases")
    void aFaultAtAnyBoundaryLeavesTheServiceRunningOnce(String mode, String boundary, Fault fault) throws Exception {
        faultAt(mode, boundary, fault, CUT);
    }

    /** One case of the matrix; returns the move's exit code. A failure names the case and carries both agents' logs of it. */
    private int faultAt(String mode, String boundary, Fault fault, Duration cut) throws Exception {
        String src = It.node(bed, 0);
        String dst = It.node(bed, 1);
        long srcMark = Agents.logMark(bed, src);
        long dstMark = Agents.logMark(bed, dst);
        int srcOutput = Services.log(bed, src, NAME).size();
        int dstOutput = Services.log(bed, dst, NAME).size();
        try {
            return faultCase(mode, boundary, fault, cut, src, dst);
        } catch (AssertionError e) {
            // The service's own output too: a connection lost before the dump shows there (a traceback of its thread).
            AssertionError named = new AssertionError(mode + " move, " + fault.name().toLowerCase().replace('_', ' ') + " at "
                    + boundary + ": " + e.getMessage() + "\n--- " + src + "'s agent during the case:\n" + lastLines(Agents.logSince(bed,
                    src, srcMark).lines().toList()) + "\n--- " + dst + "'s agent during the case:\n" + lastLines(Agents.logSince(bed,
                    dst, dstMark).lines().toList()) + "\n--- the service's output on " + src + ":\n" + outputSince(src, srcOutput)
                    + "\n--- on " + dst + ":\n" + outputSince(dst, dstOutput), e);
            throw named;
        }
    }

    private static String outputSince(String node, int mark) {
        List<String> lines = Services.log(bed, node, NAME);
        return lastLines(lines.subList(Math.min(mark, lines.size()), lines.size()));
    }

    private static String lastLines(List<String> lines) {
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 80), lines.size()));
    }

    private int faultCase(String mode, String boundary, Fault fault, Duration cut, String src, String dst) throws Exception {
        String name = NAME;
        if (VIPS.isEmpty()) {
            for (int i = 0; i < 8; i++) {
                VIPS.add(bed.nextVip());
            }
        }
        String vip = VIPS.get(cases++ % VIPS.size());
        Path stop = dir.resolve("stop");
        Files.deleteIfExists(stop);
        boolean onDestination = boundary.startsWith("dest-");
        String faulty = onDestination ? dst : src;
        ExecResult run = bed.svcmove(src, "run", name, "--vip", It.cidr(bed, vip), "--", "python3", resource("echo_server.py"), vip,
                Integer.toString(PORT));
        assertEquals(0, run.exitCode(), run.describe());
        int exit;
        long cutAt = 0;
        String ended = null;
        JsonNode client;
        // A freeze that ends in a rollback after a cut lasts the call timeout: the client may then be backing off.
        try (Background echo = bed.startBackground(bed.client(), "env", "ECHO_DRAIN_S=60", "python3", resource("echo_client.py"), vip,
                Integer.toString(PORT), "10", stop.toString(), "300")) {
            Wait.until(Duration.ofSeconds(20), "the echo client connects: " + echo.output(), () -> echo.output().contains("ready"));
            Wait.sleep(300);
            String kind = switch (fault) {
                case SOURCE_CRASH -> "crash";
                case FAIL -> "fail";
                case DESTINATION_CRASH -> onDestination ? "crash" : "stall";
                case CUT -> "stall";
            };
            Files.writeString(faultFile(faulty), kind + " " + boundary + "\n");
            try (Background move = bed.startBackground(src, bed.checkout().resolve("bin/svcmove").toString(), name, dst, "--mode", mode)) {
                if (kind.equals("stall")) {
                    Path reached = Path.of(faultFile(src) + ".reached");
                    Wait.until(Duration.ofSeconds(60), "the move reaches " + boundary + ": " + move.output(),
                            () -> Files.exists(reached) || !move.isAlive());
                    if (fault == Fault.DESTINATION_CRASH) {
                        Agents.kill(bed, dst, "KILL");
                    } else {
                        cutAt = System.nanoTime();
                        bed.execOutside(It.SHORT, bed.checkout().resolve("test-vm/cluster").toString(), "cut", "--prefix", bed.prefix(),
                                src, dst).requireOk();
                    }
                    Files.writeString(Path.of(faultFile(src) + ".release"), "");
                }
                // The cut heals when its time is up, whether or not the move has ended (a lazy move's pages wait for it).
                if (fault == Fault.CUT) {
                    Wait.sleep(Math.max(0, cut.toMillis() - (System.nanoTime() - cutAt) / 1_000_000));
                    bed.execOutside(It.SHORT, bed.checkout().resolve("test-vm/cluster").toString(), "heal", "--prefix", bed.prefix(),
                            src, dst).requireOk();
                }
                Wait.until(Duration.ofSeconds(90), "the move ends: " + move.output(), () -> !move.isAlive());
                exit = move.stop();
            } finally {
                for (String n : List.of(src, dst)) {
                    if (Agents.pid(bed, n).isEmpty()) {
                        start(n);
                    }
                }
                Files.deleteIfExists(faultFile(faulty));
            }
            Wait.until(Duration.ofSeconds(60), "the service ends up on one node: " + Services.whereIs(bed, name) + ", cells " + Services.cells(bed),
                    () -> settled(name, src, dst));
            ended = Services.whereIs(bed, name).keySet().iterator().next();
            Wait.sleep(500);
            Files.writeString(stop, "");
            Wait.until(Duration.ofSeconds(90), "the client stops", () -> !echo.isAlive());
            String out = echo.output();
            client = It.JSON.readTree(out.lines().filter(l -> l.startsWith("{")).reduce((a, b) -> b)
                    .orElseThrow(() -> new AssertionError("the client printed no result: " + out)));
        } finally {
            if (ended == null || !bed.svcmove(ended, "stop", name).ok()) {
                Services.stopEverywhere(bed, name);
            }
        }
        boolean clientOk = client.path("in_order_once").asBoolean() && client.path("answered").asInt() == client.path("sent").asInt()
                && !client.path("closed_by_peer").asBoolean();
        ROWS.add("| " + mode + " | " + boundary + " | " + fault.name().toLowerCase().replace('_', ' ') + " | " + exit + " | "
                + (ended.equals(src) ? "source" : "destination") + " | " + (clientOk ? "yes" : "NO: " + client) + " |");
        assertTrue(clientOk, "the client's connection went on with every reply right: " + client);
        assertExitSaysWhatHappened(exit, ended.equals(dst), fault);
        return exit;
    }

    /** 0: it moved; 3 or 4: it stayed; 6: unknown then (the CLI lost its crashed agent, or the destination), either now. */
    private static void assertExitSaysWhatHappened(int exit, boolean moved, Fault fault) {
        Set<Integer> allowed = fault == Fault.SOURCE_CRASH ? Set.of(6) : moved ? Set.of(0, 6) : Set.of(3, 4, 6);
        assertTrue(allowed.contains(exit), "exit " + exit + " for a move that " + (moved ? "went through" : "did not")
                + " (allowed " + allowed + ")");
    }

    /** One node runs it, its cell is only there, status agrees everywhere, no images are left. */
    private static boolean settled(String name, String src, String dst) {
        List<String> where = new ArrayList<>();
        for (Map.Entry<String, Map<String, JsonNode>> n : Services.everywhere(bed).entrySet()) {
            JsonNode svc = n.getValue().get(name);
            if (svc != null) {
                if (!svc.path("state").asText().equals("running") || svc.has("move") || svc.has("arrival")) {
                    return false;
                }
                where.add(n.getKey());
            }
        }
        if (where.size() != 1) {
            return false;
        }
        String node = where.get(0);
        if (!Services.cells(bed).stream().filter(c -> c.endsWith("." + name)).toList().equals(List.of(node + "." + name))) {
            return false;
        }
        try (Stream<Path> shm = Files.list(Path.of("/dev/shm"))) {
            return shm.noneMatch(p -> p.getFileName().toString().matches("svcmove-(" + src + "|" + dst + ")-" + name + "-.*"));
        } catch (IOException e) {
            return false;
        }
    }

    private static String resource(String name) {
        return Services.script(FaultMatrixIT.class, "/io/svcmove/migrator/announce/" + name);
    }
}
