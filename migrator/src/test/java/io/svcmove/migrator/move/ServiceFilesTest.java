package io.svcmove.migrator.move;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.svcmove.migrator.control.ControlException;
import io.svcmove.migrator.control.Outcome;
import io.svcmove.migrator.criu.NetworkLock;
import io.svcmove.migrator.criu.RestoreOptions;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a service's processes hold open, read from real processes' /proc; and the logs a restore is handed. */
class ServiceFilesTest {
    @TempDir
    Path tmp;

    @Test
    void aFileOpenedForAppendingIsANodeLocalLogAndTheOneOutwardPipeIsTheOutput() throws Exception {
        Path log = tmp.resolve("app.log");
        Path data = tmp.resolve("data");
        Process p = start(new ProcessBuilder("sh", "-c", "exec 3>>" + log + " 4>" + data + " 5<" + data + "; exec sleep 30")
                .redirectErrorStream(true));
        try {
            ServiceFiles files = ServiceFiles.of("svc", "node1", List.of(p.pid()));
            assertEquals(Files.readSymbolicLink(Path.of("/proc", Long.toString(p.pid()), "fd", "1")).toString(), files.outputPipe(),
                    "stdout and stderr are one pipe that the JVM, outside the 'cell', reads");
            assertEquals(List.of(log.toString()), files.logs().stream().map(ServiceFiles.Log::path).toList(),
                    "only the file opened with O_APPEND is a log; one opened for writing without it is not");
            assertEquals(Files.getAttribute(log, "unix:mode"), files.logs().get(0).mode() | 0100000);
            List<String> required = files.required().stream().map(ServiceFiles.Required::path).toList();
            assertTrue(required.contains(data.toString()), "a data file it has open must be the same where it goes: " + required);
            assertTrue(required.stream().anyMatch(f -> f.contains("sleep")), "so must its executable: " + required);
            assertTrue(required.stream().anyMatch(f -> f.contains("libc")), "and its libraries: " + required);
            for (ServiceFiles.Required r : files.required()) {
                assertEquals(ElfBuildId.of(Path.of(r.path())).orElse(null), r.buildId(), "an ELF file's build-id goes with it: " + r);
            }
            assertTrue(files.required().stream().anyMatch(r -> r.path().contains("sleep") && r.buildId() != null), files.required().toString());
            assertFalse(required.contains(log.toString()), "a log is the node's own");
        } finally {
            stop(p);
        }
    }

    @Test
    void noOutputPipeWhenTheDaemonPointedItsStdioAtDevNull() throws Exception {
        Process p = start(new ProcessBuilder("sleep", "30").redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD));
        try {
            ServiceFiles files = ServiceFiles.of("svc", "node1", List.of(p.pid()));
            assertNull(files.outputPipe());
            assertTrue(files.logs().isEmpty(), "/dev/null is no log: " + files.logs());
        } finally {
            stop(p);
        }
    }

    @Test
    void twoPipesLeadingOutOfTheCellAreRefusedBeforeAnythingChanges() throws Exception {
        Process p = start(new ProcessBuilder("sleep", "30"));
        try {
            ControlException e = assertThrows(ControlException.class, () -> ServiceFiles.of("svc", "node1", List.of(p.pid())));
            assertEquals(Outcome.REFUSED, e.outcome());
            assertTrue(e.getMessage().contains("svc writes to 2 pipes that no process of its cell reads"), e.getMessage());
        } finally {
            stop(p);
        }
    }

    @Test
    void aFileMissingOrDifferentWhereTheServiceGoesIsNamedWithTheNode() throws Exception {
        Path same = Files.writeString(tmp.resolve("same"), "abc");
        Path grown = Files.writeString(tmp.resolve("grown"), "abcdef");
        ServiceFiles files = new ServiceFiles(null, null, List.of(new ServiceFiles.Required(same.toString(), 3, null),
                new ServiceFiles.Required(grown.toString(), 3, null), new ServiceFiles.Required(tmp.resolve("gone").toString(), 1, null)));
        assertEquals(List.of(grown + " differs: 3 bytes on node1, 6 on node2", tmp.resolve("gone")
                + " is open by svc on node1 but node2 lacks it"), files.mismatches("svc", "node1", "node2"));
    }

    @Test
    void anExecutableOfTheSameSizeButAnotherBuildIsNamedWithBothBuildIds() throws Exception {
        // /bin/false where the source had /bin/true: the same size, another build-id.
        Path program = Files.copy(Path.of("/bin/false"), tmp.resolve("program"));
        Path data = Files.writeString(tmp.resolve("data"), "abc");
        long size = Files.size(program);
        String sourceId = ElfBuildId.of(Path.of("/bin/true")).orElseThrow();
        String ours = ElfBuildId.of(program).orElseThrow();
        ServiceFiles files = new ServiceFiles(null, null, List.of(new ServiceFiles.Required(program.toString(), size, sourceId),
                new ServiceFiles.Required(data.toString(), 3, sourceId)));
        assertEquals(List.of(program + " is another build: build-id " + sourceId + " on node1, " + ours + " on node2",
                data + " is another build: build-id " + sourceId + " on node1, none on node2"), files.mismatches("svc", "node1", "node2"));
        ServiceFiles same = new ServiceFiles(null, null, List.of(new ServiceFiles.Required(program.toString(), size, ours),
                new ServiceFiles.Required(data.toString(), 3, null)));
        assertEquals(List.of(), same.mismatches("svc", "node1", "node2"), "the same build, and a file that has no build-id");
    }

    @Test
    void onlyWritesWithAppendMakeALog() {
        assertTrue(ServiceFiles.appends(01 | 02000));
        assertTrue(ServiceFiles.appends(02 | 02000 | 0100000));
        assertFalse(ServiceFiles.appends(01));
        assertFalse(ServiceFiles.appends(02000), "read-only with O_APPEND writes nothing");
    }

    @Test
    void aLogAbsentWhereTheServiceArrivesIsCreatedWithItsOwnerAndModeAndHandedToTheRestore() throws Exception {
        Path log = tmp.resolve("var/log/svc/access.log");
        int uid = (Integer) Files.getAttribute(tmp, "unix:uid");
        int gid = (Integer) Files.getAttribute(tmp, "unix:gid");
        ServiceFiles files = new ServiceFiles(null, List.of(new ServiceFiles.Log(log.toString(), uid, gid, 0640)), null);
        RestoreOptions.Builder restore = RestoreOptions.builder(tmp, NetworkLock.SKIP);
        try (ServiceFiles.Opened opened = files.open(tmp.resolve("no-relay"))) {
            RestoreOptions options = opened.into(restore).build();
            assertEquals(List.of(log.toString().substring(1)), List.copyOf(options.inheritFds().keySet()),
                    "CRIU knows a file by its path without the leading slash");
        }
        assertTrue(Files.isRegularFile(log));
        assertEquals("rw-r-----", PosixFilePermissions.toString(Files.getPosixFilePermissions(log)));
    }

    private static Process start(ProcessBuilder b) throws Exception {
        Process p = b.redirectInput(new File("/dev/null")).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        // Until the shell has exec'd sleep: its redirections are then in place.
        while (!Files.readString(Path.of("/proc", Long.toString(p.pid()), "cmdline")).startsWith("sleep")) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the test process did not start");
            }
            Thread.sleep(10);
        }
        return p;
    }

    private static void stop(Process p) throws InterruptedException {
        p.destroy();
        p.waitFor(5, TimeUnit.SECONDS);
    }
}
