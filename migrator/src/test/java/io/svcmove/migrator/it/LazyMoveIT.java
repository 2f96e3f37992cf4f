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
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Issue 9: a lazy move whose source fails while the memory is still on its way. The service
 * already runs on the destination, so nothing can be rolled back: when the pages are lost it must
 * be killed there and marked failed, the CLI must say so, and nothing may hang; when only the
 * source's agent dies, the service is the destination's.
 */
@WithTestBed
class LazyMoveIT {
    /** 1 GB, every page written, then idle: its background transfer takes seconds on the bed. */
    private static final String HOG = It.memoryHog(1024);
    private static final Duration MOVE_BOUND = Duration.ofSeconds(90);

    @Test
    void aSourceThatFailsMidTransferLeavesTheServiceFailedNotHanging(TestBed bed) throws Exception {
        String n1 = It.node(bed, 0);
        String n2 = It.node(bed, 1);
        String name = "itlazyfail";
        try {
            long pid = startHog(bed, n1, name);
            long sourceAgent = Agents.pid(bed, n1).orElseThrow();
            long destinationAgent = Agents.pid(bed, n2).orElseThrow();
            long mark = Agents.logMark(bed, n2);

            long started = System.nanoTime();
            try (Background move = bed.startBackground(n1, bed.checkout().resolve("bin/svcmove").toString(), name, n2,
                    "--mode", "lazy", "--json")) {
                // The destination's page fetcher runs from the restore until the last page: the service runs there now.
                Wait.until(Duration.ofSeconds(30), "criu lazy-pages runs on " + n2,
                        () -> child(destinationAgent, "lazy-pages").isPresent() || !move.isAlive());
                assertTrue(move.isAlive(), "the move was still transferring pages when the source failed: " + move.output());
                Wait.sleep(200);
                long pageServer = child(sourceAgent, "criu").orElseThrow(() -> new AssertionError(
                        "no CRIU serves pages on " + n1 + "; the move said: " + move.output()));
                bed.execOutside(It.SHORT, "kill", "-KILL", Long.toString(pageServer)).requireOk();

                Wait.until(MOVE_BOUND, "the move returns", () -> !move.isAlive());
                double seconds = (System.nanoTime() - started) / 1e9;
                int exit = move.stop();
                String out = move.output();
                System.out.printf("LazyMoveIT: the move returned %.1f s after it began, exit %d: %s%n", seconds, exit, out);
                assertEquals(1, exit, "exit 1 (failed) for a lazy move whose source failed: " + out);
                JsonNode j = It.JSON.readTree(out.substring(out.indexOf('{')));
                assertFalse(j.path("ok").asBoolean(true), "ok false: " + j);
                String message = j.path("message").asText();
                assertTrue(message.contains("FAILED after the service started there") && message.contains("marked failed")
                        && message.contains("cannot be rolled back"), "the CLI says plainly what happened: " + message);
            }

            JsonNode there = Services.on(bed, n2).get(name);
            assertTrue(there != null, "the destination still lists " + name + " (as failed): " + Services.on(bed, n2));
            assertEquals("failed", there.path("state").asText(), "its state on " + n2 + ": " + there);
            assertTrue(there.path("failure").asText().contains("cannot be rolled back"), "why it failed, on " + n2 + ": " + there);
            assertFalse(It.alive(there.path("pid").asLong()), "the service is no longer running on " + n2 + ": " + there);
            assertFalse(It.alive(pid), "the frozen original on " + n1 + " is gone too");
            assertEquals(null, Services.on(bed, n1).get(name), "the source forgot the service: " + Services.on(bed, n1));
            Wait.until(Duration.ofSeconds(10), "no images of the move left on either node (they hold the service's state)",
                    () -> imagesLeft(name).isEmpty());
            String log = Agents.logSince(bed, n2, mark);
            assertTrue(log.contains(name + " FAILED on " + n2), "the destination's log says so:\n" + Agents.tail(
                    Path.of(Agents.of(bed, n2).log()), 30));
        } finally {
            Services.stopEverywhere(bed, name);
        }
        assertTrue(Services.cells(bed).stream().noneMatch(c -> c.endsWith("." + name)), "no cell left: " + Services.cells(bed));
    }

    /**
     * The source's agent dies alone during the page transfer (its CRIU, a separate process, serves
     * on): the destination owns the service from its restore, every page arrives, and the restarted
     * source kills its frozen copy instead of adopting it, so the service runs on one node only.
     */
    @Test
    void aSourceAgentThatDiesAloneMidTransferLeavesTheServiceToTheDestination(TestBed bed) throws Exception {
        String n1 = It.node(bed, 0);
        String n2 = It.node(bed, 1);
        String name = "itlazyorphan";
        try {
            long pid = startHog(bed, n1, name);
            long destinationAgent = Agents.pid(bed, n2).orElseThrow();
            long mark;
            try (Background move = bed.startBackground(n1, bed.checkout().resolve("bin/svcmove").toString(), name, n2,
                    "--mode", "lazy", "--json")) {
                Wait.until(Duration.ofSeconds(30), "criu lazy-pages runs on " + n2,
                        () -> child(destinationAgent, "lazy-pages").isPresent() || !move.isAlive());
                assertTrue(move.isAlive(), "the move was still transferring pages: " + move.output());
                mark = Agents.logMark(bed, n1);
                Agents.kill(bed, n1, "KILL");
                Wait.until(MOVE_BOUND, "the CLI notices its agent is gone", () -> !move.isAlive());
                System.out.println("LazyMoveIT: the CLI, its agent killed: exit " + move.stop() + ": " + move.output());
            } finally {
                Agents.ensureRunning(bed, n1);
            }
            Wait.until(MOVE_BOUND, "every page arrived on " + n2 + " (its criu lazy-pages is done)",
                    () -> child(destinationAgent, "lazy-pages").isEmpty());
            Wait.until(MOVE_BOUND, "the restarted " + n1 + " dropped its frozen copy", () -> !Services.on(bed, n1).containsKey(name));
            JsonNode there = Services.on(bed, n2).get(name);
            assertTrue(there != null && there.path("state").asText().equals("running"), "the service runs on " + n2
                    + " without the source's commit: " + Services.on(bed, n2));
            assertEquals(Map.of(n2, "running"), Services.whereIs(bed, name), "one node runs it");
            assertFalse(It.alive(pid), "the frozen copy on " + n1 + " is gone");
            assertFalse(Services.cells(bed).contains(n1 + "." + name), "no cell left on " + n1 + ": " + Services.cells(bed));
            Wait.until(Duration.ofSeconds(10), "no images of the move left on either node: " + imagesLeft(name),
                    () -> imagesLeft(name).isEmpty());
            String log = Agents.logSince(bed, n1, mark);
            assertTrue(log.contains(name + " was being moved to " + n2) && log.contains("the frozen copy here is gone"),
                    "the restarted " + n1 + " says what it did:\n" + log);
        } finally {
            Services.stopEverywhere(bed, name);
        }
    }

    /** Image directories of moves of NAME, on any node of the bed (they are named svcmove-NODE-MOVEID-…). */
    private static List<Path> imagesLeft(String name) {
        List<Path> left = new ArrayList<>();
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(Path.of("/dev/shm"), "svcmove-*-" + name + "-*")) {
            dirs.forEach(left::add);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return left;
    }

    /** The 1 GB service on NODE, once its memory is written; its PID. */
    private static long startHog(TestBed bed, String node, String name) {
        ExecResult run = bed.svcmove(node, "run", name, "--vip", It.cidr(bed, bed.nextVip()), "--", "python3", "-c", HOG);
        assertEquals(0, run.exitCode(), run.describe());
        long pid = Services.on(bed, node).get(name).path("pid").asLong();
        Wait.until(Duration.ofSeconds(30), "the service has written its 1 GB", () -> rssMb(pid) > 1000);
        return pid;
    }

    /** A child of PID whose command line contains WORD (CRIU renames itself: "criu-bin: dump --rpc ...", "criu lazy-pages ..."). */
    private static Optional<Long> child(long pid, String word) {
        return ProcessHandle.of(pid).stream().flatMap(ProcessHandle::children).map(ProcessHandle::pid)
                .filter(c -> cmdline(c).contains(word)).findFirst();
    }

    private static String cmdline(long pid) {
        try {
            return new String(Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline")), StandardCharsets.UTF_8)
                    .replace('\0', ' ');
        } catch (IOException e) {
            return "";
        }
    }

    private static long rssMb(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("\\D", "")) / 1024;
                }
            }
        } catch (IOException e) {
            // not there (yet)
        }
        return 0;
    }
}
