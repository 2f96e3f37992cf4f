package io.svcmove.migrator.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.svcmove.testbed.Background;
import io.svcmove.testbed.Downloads;
import io.svcmove.testbed.ExecResult;
import io.svcmove.testbed.Services;
import io.svcmove.testbed.TestBed;
import io.svcmove.testbed.Wait;
import io.svcmove.testbed.WithTestBed;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Issue 15: daemons do what daemons do with their stdio, and they log to files on the node's own
 * disk. A service whose stdout and stderr were pointed at /dev/null, at a log file, or closed moves
 * there and back with its client's connection intact; a log the service appends to that grows, or is rotated
 * away, between the dump and the restore (a pre-restore hook does it, so it happens every time)
 * no longer fails CRIU's restore: the service appends on to the file of that path where it runs.
 */
@WithTestBed
class DaemonStdioIT {
    private static final String HOOK = "/etc/svcmove/hooks/20-itlog";
    private static final int PORT = 7000;

    @ParameterizedTest(name = "stdio {0}")
    @ValueSource(strings = {"/dev/null", "a log file", "closed"})
    void aDaemonMovesWhateverItDidWithItsStdio(String stdio, TestBed bed) throws Exception {
        String n1 = It.node(bed, 0);
        String n2 = It.node(bed, 1);
        String name = "itstdio" + stdio.replaceAll("[^a-z]", "").substring(0, 3);
        String vip = bed.nextVip();
        Path dir = Files.createTempDirectory("svcmove-itstdio-");
        String redirect = switch (stdio) {
            case "/dev/null" -> "exec >/dev/null 2>&1";
            case "a log file" -> "exec >>" + dir.resolve("daemon.log") + " 2>&1";
            default -> "exec >&- 2>&-";
        };
        Path stop = dir.resolve("stop");
        try {
            Services.run(bed, n1, name, vip, "sh", "-c", redirect + "; exec python3 \"$0\" \"$1\" \"$2\"", echo("echo_server.py"), vip,
                    Integer.toString(PORT));
            try (Background client = bed.startBackground(bed.client(), "python3", echo("echo_client.py"), vip, Integer.toString(PORT),
                    "10", stop.toString(), "120")) {
                Wait.until(Duration.ofSeconds(20), "the echo client connects: " + client.output(), () -> client.output().contains("ready"));
                Wait.sleep(300);
                assertEquals(n2, Services.move(bed, n1, name, n2).path("to").asText());
                Wait.sleep(300);
                assertEquals(n1, Services.move(bed, n2, name, n1).path("to").asText(), "and back");
                Wait.sleep(300);
                Files.writeString(stop, "");
                Wait.until(Duration.ofSeconds(30), "the client stops", () -> !client.isAlive());
                JsonNode result = It.JSON.readTree(client.output().lines().filter(l -> l.startsWith("{")).reduce((a, b) -> b)
                        .orElseThrow(() -> new AssertionError("the client printed no result: " + client.output())));
                assertTrue(result.path("in_order_once").asBoolean() && result.path("answered").asInt() == result.path("sent").asInt()
                        && !result.path("closed_by_peer").asBoolean(), "the client's connection went on: " + result);
            }
            assertEquals(Map.of(n1, "running"), Services.whereIs(bed, name));
        } finally {
            Services.stopEverywhere(bed, name);
            It.deleteTree(dir);
        }
    }

    /**
     * A pidfile the daemon wrote and closed (as Apache's /run/apache2/apache2.pid) is carried
     * (run --carry): where the service arrives it is there, written by that node's agent, with its
     * content and mode. This bed's nodes share one disk, so the file is seen to be rewritten (a new
     * inode) rather than found; VmApacheIT shows it on separate disks.
     */
    @Test
    void aPidfileTheDaemonWroteAndClosedIsCarriedWithIt(TestBed bed) throws Exception {
        String n1 = It.node(bed, 0);
        String n2 = It.node(bed, 1);
        String name = "itpidfile";
        String vip = bed.nextVip();
        Path dir = Files.createTempDirectory("svcmove-itpidfile-");
        Path pidfile = dir.resolve("run/it.pid");
        try {
            ExecResult bad = bed.svcmove(n1, "run", name, "--vip", It.cidr(bed, vip), "--carry", "run/it.pid", "--", "sleep", "60");
            assertEquals(2, bad.exitCode(), "a relative --carry:\n" + bad.describe());
            assertTrue(bad.stderr().contains("absolute path"), bad.describe());
            assertEquals(Map.of(), Services.whereIs(bed, name), "nothing was started");

            ExecResult run = bed.svcmove(n1, "run", name, "--vip", It.cidr(bed, vip), "--carry", pidfile.toString(), "--", "sh", "-c",
                    "mkdir -p " + pidfile.getParent() + " && echo $$ > " + pidfile + " && chmod 640 " + pidfile
                            + " && exec python3 \"$0\" \"$1\" \"$2\"", echo("echo_server.py"), vip, Integer.toString(PORT));
            assertEquals(0, run.exitCode(), run.describe());
            Wait.until(Duration.ofSeconds(20), "the daemon wrote its pidfile", () -> Files.exists(pidfile));
            String content = Files.readString(pidfile);
            for (String[] hop : List.of(new String[] {n1, n2}, new String[] {n2, n1})) {
                Object before = Files.readAttributes(pidfile, "unix:ino").get("ino");
                assertEquals(hop[1], Services.move(bed, hop[0], name, hop[1]).path("to").asText());
                assertEquals(content, Files.readString(pidfile), "the pidfile where " + name + " runs, on " + hop[1]);
                assertEquals("rw-r-----", PosixFilePermissions.toString(Files.getPosixFilePermissions(pidfile)));
                assertFalse(before.equals(Files.readAttributes(pidfile, "unix:ino").get("ino")), hop[1] + "'s agent wrote it");
                assertEquals(List.of(pidfile.toString()), It.JSON.convertValue(Services.on(bed, hop[1]).get(name).path("carry"),
                        List.class), "svcmove status --json lists what " + name + " carries");
            }
        } finally {
            Services.stopEverywhere(bed, name);
            It.deleteTree(dir);
        }
    }

    @Test
    void aLogThatGrowsDuringTheMoveIsAppendedToOnTheNewNode(TestBed bed) throws Exception {
        moveWhileTheHookDoes(bed, "itloggrow", "echo 'written by the hook' >> \"$LOG\"", (log, ticksBefore) -> {
            List<String> lines = Files.readAllLines(log);
            int hook = lines.indexOf("written by the hook");
            assertTrue(hook >= 0, "the hook's line is in the log: " + tail(lines));
            assertTrue(lines.subList(hook + 1, lines.size()).stream().anyMatch(l -> l.startsWith("tick ")),
                    "the service appends after it, from its new node: " + tail(lines));
        });
    }

    @Test
    void aLogRotatedAwayDuringTheMoveIsCreatedAgainWithItsModeOnTheNewNode(TestBed bed) throws Exception {
        moveWhileTheHookDoes(bed, "itlogrot", "mv \"$LOG\" \"$LOG.1\"", (log, ticksBefore) -> {
            assertTrue(Files.exists(Path.of(log + ".1")), "the rotated log is kept");
            assertEquals("rw-r-----", PosixFilePermissions.toString(Files.getPosixFilePermissions(log)),
                    "the log is created again with the mode it had");
            List<String> lines = Files.readAllLines(log);
            assertTrue(!lines.isEmpty() && lines.stream().allMatch(l -> l.startsWith("tick ")), "the service writes into it: "
                    + tail(lines));
            long first = Long.parseLong(lines.get(0).substring(5));
            assertTrue(first >= ticksBefore, "it goes on counting where it was (" + first + " after " + ticksBefore + ")");
        });
    }

    /**
     * A service that writes to a second pipe read outside its cell (here a process on its node) is
     * refused before anything changes (exit 3), in an operator's words, naming what to do instead.
     */
    @Test
    void aSecondPipeOutOfTheCellIsRefusedBeforeAnythingChanges(TestBed bed) throws Exception {
        String n1 = It.node(bed, 0);
        String n2 = It.node(bed, 1);
        String name = "itpipes";
        try (Background reader = bed.startBackground(n1, "python3", "-c",
                "import os, time; r, w = os.pipe(); print(os.getpid(), w, flush=True); time.sleep(300)")) {
            Wait.until(Duration.ofSeconds(10), "the outside reader starts", () -> reader.output().strip().matches("\\d+ \\d+"));
            String[] pidFd = reader.output().strip().split(" ");
            Services.run(bed, n1, name, bed.nextVip(), "sh", "-c", "exec 4>/proc/" + pidFd[0] + "/fd/" + pidFd[1] + "; exec sleep 600");
            ExecResult move = bed.svcmove(n1, name, n2);
            assertEquals(3, move.exitCode(), "refused:\n" + move.describe());
            assertTrue(move.stderr().contains("writes to 2 pipes that no process of its cell reads")
                    && move.stderr().contains("have the service log to a file or to its stdout instead"),
                    "the reason and the fix:\n" + move.describe());
            assertFalse(Pattern.compile("Exception|io\\.svcmove").matcher(move.stderr() + move.stdout()).find(),
                    "no Java in an operator's message:\n" + move.describe());
            assertEquals(Map.of(n1, "running"), Services.whereIs(bed, name), "nothing changed");
        } finally {
            Services.stopEverywhere(bed, name);
        }
    }

    interface LogCheck {
        void check(Path log, long ticksBefore) throws Exception;
    }

    /**
     * Runs the ticker with its log (mode 0640), installs a pre-restore hook on the source that does
     * ACTION to the log (after the dump, before the restore), moves it, and checks the log.
     */
    private static void moveWhileTheHookDoes(TestBed bed, String name, String action, LogCheck check) throws Exception {
        String n1 = It.node(bed, 0);
        String n2 = It.node(bed, 1);
        Path dir = Files.createTempDirectory("svcmove-itlog-");
        Path log = dir.resolve("service.log");
        Files.createFile(log, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-r-----")));
        String script = "#!/bin/sh\n[ \"$SVCMOVE_SERVICE\" = " + name + " ] && [ \"$SVCMOVE_HOOK\" = pre-restore ] || exit 0\nLOG=" + log
                + "\n" + action + "\n";
        try {
            bed.exec(n1, It.SHORT, "sh", "-c", "mkdir -p \"${0%/*}\" && printf '%s' \"$1\" > \"$0\" && chmod 0755 \"$0\"", HOOK, script)
                    .requireOk();
            Services.run(bed, n1, name, bed.nextVip(), "python3", Services.script(DaemonStdioIT.class, "ticker.py"), log.toString());
            Wait.until(Duration.ofSeconds(10), "the ticker logs", () -> Downloads.size(log) > 0);
            long ticksBefore = Files.readAllLines(log).size();
            ExecResult moved = bed.svcmove(n1, name, n2);
            assertEquals(0, moved.exitCode(), "the move, while its log changes between dump and restore:\n" + moved.describe());
            assertEquals(Map.of(n2, "running"), Services.whereIs(bed, name));
            Wait.sleep(500);
            check.check(log, ticksBefore);
        } finally {
            bed.exec(n1, It.SHORT, "rm", "-f", HOOK);
            Services.stopEverywhere(bed, name);
            It.deleteTree(dir);
        }
    }

    private static String echo(String name) {
        return Services.script(DaemonStdioIT.class, "/io/svcmove/migrator/announce/" + name);
    }

    private static String tail(List<String> lines) {
        return String.join(" | ", lines.subList(Math.max(0, lines.size() - 8), lines.size()));
    }
}
