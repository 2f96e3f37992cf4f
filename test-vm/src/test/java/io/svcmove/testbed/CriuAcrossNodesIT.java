package io.svcmove.testbed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The proof that the bed can carry a move: a process in its own PID namespace and session,
 * dumped with CRIU on one node and restored on another, keeps running there.
 */
@WithTestBed
class CriuAcrossNodesIT {
    private static final Duration CRIU_TIMEOUT = Duration.ofSeconds(60);

    @Test
    void aProcessDumpedOnOneNodeRunsOnAnother(TestBed bed, @TempDir Path work) throws Exception {
        Path criu = criu(bed);
        String from = bed.nodes().get(0);
        String to = bed.nodes().get(1);
        Path counter = work.resolve("counter");
        // Its own stdio on /dev/null: CRIU cannot carry pipes to the JVM or a growing log file.
        // Each value is written whole (write, then rename), so a reader never sees a torn number.
        String loop = "exec </dev/null >/dev/null 2>&1; i=0; while :; do i=$((i+1)); echo $i > " + counter
                + ".new; mv " + counter + ".new " + counter + "; sleep 0.05; done";
        Path images = Files.createTempDirectory(Path.of("/dev/shm"), "svcmove-criu-it-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        long restored = -1;
        try (Background started = bed.startBackground(from, "unshare", "--pid", "--fork", "setsid", "sh", "-c", loop)) {
            assertEquals("tmpfs", Files.getFileStore(images).type(), "CRIU images belong on a tmpfs");
            // The tree's root is unshare's only child: PID 1 of the new PID namespace, its own session leader.
            Await.upTo10s(() -> Files.exists(counter) && started.handle().children().count() == 1,
                    "the counter process did not start on " + from + ": " + started.output());
            long root = started.handle().children().findFirst().orElseThrow().pid();
            assertTrue(bed.pids(from).contains(root), "the process is not in " + from + "'s netns");

            // Dump from inside its own mount and UTS namespaces, so CRIU treats both as the
            // environment (not part of the tree) and the restore takes the destination's.
            ExecResult dump = bed.execOutside(CRIU_TIMEOUT, "nsenter", "--target", Long.toString(root),
                    "--mount", "--net", "--uts", "--",
                    criu.toString(), "dump", "-t", Long.toString(root), "-D", images.toString(), "-o", "dump.log", "-v4");
            assertTrue(dump.ok(), dump.describe() + logTail(images.resolve("dump.log")));
            Await.upTo10s(() -> ProcessHandle.of(root).isEmpty(), "the dumped tree still runs on " + from);
            long atDump = read(counter);
            ProcessTree.sleep(Duration.ofMillis(300));
            assertEquals(atDump, read(counter), "something still counts after the dump");

            Path pidFile = images.resolve("restored.pid");
            ExecResult restore = bed.exec(to, CRIU_TIMEOUT, criu.toString(), "restore", "-d", "-D", images.toString(),
                    "--pidfile", pidFile.toString(), "-o", "restore.log", "-v4");
            assertTrue(restore.ok(), restore.describe() + logTail(images.resolve("restore.log")));
            restored = Long.parseLong(Files.readString(pidFile).trim());

            assertTrue(bed.pids(to).contains(restored), "the restored process is not in " + to + "'s netns");
            assertFalse(bed.pids(from).contains(restored), "the restored process is in " + from + "'s netns");
            Await.upTo10s(() -> read(counter) > atDump + 5, "the counter did not go on from " + atDump + " after the restore");
            ExecResult name = bed.execOutside(Duration.ofSeconds(10), "nsenter", "--target", Long.toString(restored),
                    "--uts", "hostname").requireOk();
            assertEquals(bed.status().host(to).name(), name.stdout().trim(), "the restored process's hostname");
        } finally {
            if (restored > 0) {
                ProcessHandle.of(restored).ifPresent(p -> ProcessTree.kill(p, Duration.ofSeconds(5)));
            }
            deleteTree(images);
        }
    }

    static Path criu(TestBed bed) throws IOException {
        Path link = bed.checkout().resolve("native/build/criu-bin");
        if (!Files.isExecutable(link)) {
            fail(link + " is missing: run 'make setup' (it builds CRIU 4.2.1 and links it there)");
        }
        // Absolute: nsenter --mount starts the command at the namespace's root directory.
        return link.toRealPath();
    }

    private static long read(Path counter) {
        try {
            return Long.parseLong(Files.readString(counter).trim());
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + counter, e);
        }
    }

    private static String logTail(Path log) throws IOException {
        if (!Files.exists(log)) {
            return "\n(no " + log.getFileName() + ")";
        }
        List<String> lines = Files.readAllLines(log);
        return "\n--- end of " + log.getFileName() + "\n" + String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
