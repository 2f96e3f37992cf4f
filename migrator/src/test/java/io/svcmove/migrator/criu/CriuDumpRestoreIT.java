package io.svcmove.migrator.criu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Real dumps and restores of an echo server that is init of its own PID namespace, in a netns
 * the test creates and marks external, as a cell's service is.
 */
class CriuDumpRestoreIT {
    private static final String NETNS_KEY = "cellnet";

    private final Criu criu = new SwrkCriu(CriuTestBed.criuBinary());
    private CriuTestBed bed;
    private ImageDir images;

    @BeforeEach
    void setUp() throws Exception {
        bed = new CriuTestBed();
        images = ImageDir.create("svcmove-criu-it-");
    }

    @AfterEach
    void tearDown() throws Exception {
        try {
            bed.close();
        } finally {
            images.close();
            assertFalse(Files.exists(images.path()), "images dir deleted on close");
        }
        assertEquals(List.of(), criuChildren(), "every criu swrk child was reaped");
    }

    /** criu processes (zombies included) whose parent is this JVM. */
    private static List<String> criuChildren() throws Exception {
        long self = ProcessHandle.current().pid();
        List<String> found = new ArrayList<>();
        try (var proc = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
            for (Path p : proc) {
                String stat;
                try {
                    stat = Files.readString(p.resolve("stat"));
                } catch (java.io.IOException gone) {
                    continue;
                }
                String comm = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
                long ppid = Long.parseLong(stat.substring(stat.lastIndexOf(')') + 2).split(" ")[1]);
                if (ppid == self && comm.startsWith("criu")) {
                    found.add(p.getFileName() + " " + stat.substring(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3));
                }
            }
        }
        return found;
    }

    private DumpOptions.Builder dumpOptions(long root) throws Exception {
        return DumpOptions.builder(images.path(), root, NetworkLock.SKIP)
                .externalNetnsOf(root, NETNS_KEY)
                .tcpEstablished(true);
    }

    private RestoreResult restore(OpenFd netns, List<CriuNotification> seen) throws Exception {
        RestoreResult r = criu.restore(RestoreOptions.builder(images.path(), NetworkLock.SKIP)
                .tcpEstablished(true)
                .inheritFd(NETNS_KEY, netns.fd())
                .build(), seen::add);
        bed.own(r.pid());
        return r;
    }

    @Test
    void dumpKillsTheTreeAndRestoreBringsBackTheListeningServer() throws Exception {
        long root = bed.startServer();
        try (CriuTestBed.Client first = bed.client()) {
            first.assertEcho("before");
        }
        // The echo server serves one connection at a time: let it close this one and accept again.
        Thread.sleep(200);
        List<CriuNotification> dumpSeen = new ArrayList<>();
        DumpResult d = criu.dump(dumpOptions(root).build(), dumpSeen::add);

        assertTrue(Files.size(d.log()) > 0, "CRIU wrote its log into the images dir");
        assertTrue(waitGone(root), "without leave_stopped/leave_running CRIU kills the dumped tree");
        assertTrue(dumpSeen.stream().anyMatch(n -> n.phase().orElse(null) == CriuPhase.POST_DUMP),
                "post-dump notified: " + dumpSeen);

        List<CriuNotification> restoreSeen = new ArrayList<>();
        RestoreResult r;
        try (OpenFd netns = OpenFd.open(bed.netnsFile())) {
            r = restore(netns, restoreSeen);
        }
        assertEquals(netnsInodeOfFile(), DumpOptions.netnsInode(r.pid()),
                "restored into the inherited (external) netns, not a new one");
        assertTrue(restoreSeen.stream().anyMatch(n -> n.phase().orElse(null) == CriuPhase.POST_RESTORE),
                "post-restore notified: " + restoreSeen);
        assertTrue(List.of("R", "S").contains(FrozenTree.state(r.pid())), "restored tree runs");
        bed.client().assertEcho("after restore");
    }

    @Test
    void leaveStoppedThenResumeKeepsTheEstablishedConnection() throws Exception {
        long root = bed.startServer();
        CriuTestBed.Client client = bed.client();
        client.assertEcho("one");

        criu.dump(dumpOptions(root).leaveStopped(true).build(), CriuListener.NONE);
        // CRIU sends SIGSTOP as it detaches: the stop lands a moment after dump() returns.
        assertTrue(waitState(root, "T"), "leave_stopped keeps the tree stopped, state " + FrozenTree.state(root));

        FrozenTree frozen = new FrozenTree(root);
        assertEquals(1, frozen.resume(), "one established TCP socket left repair mode");
        assertTrue(List.of("R", "S").contains(FrozenTree.state(root)), "resumed");
        for (int i = 0; i < 3; i++) {
            client.assertEcho("after resume " + i);
        }
        assertTrue(client.alive(), "no RST reached the client");
    }

    /** The control for the test above: SIGCONT alone, sockets still in repair mode. */
    @Test
    void resumingWithoutLeavingRepairModeBreaksTheConnection() throws Exception {
        long root = bed.startServer();
        CriuTestBed.Client client = bed.client();
        client.assertEcho("one");

        criu.dump(dumpOptions(root).leaveStopped(true).build(), CriuListener.NONE);
        assertEquals(0, Libc.C.kill((int) root, Libc.SIGCONT));
        AssertionError broken = assertThrows(AssertionError.class, () -> client.assertEcho("after bare SIGCONT"));
        assertTrue(broken.getMessage().contains("Connection reset"), "the client got a RST: " + broken.getMessage());
    }

    @Test
    void dumpKillRestoreKeepsTheEstablishedConnection() throws Exception {
        long root = bed.startServer();
        CriuTestBed.Client client = bed.client();
        client.assertEcho("one");

        criu.dump(dumpOptions(root).leaveStopped(true).build(), CriuListener.NONE);
        assertTrue(new FrozenTree(root).kill(), "commit: the frozen tree is killed");
        assertTrue(waitGone(root));

        try (OpenFd netns = OpenFd.open(bed.netnsFile())) {
            restore(netns, new ArrayList<>());
        }
        for (int i = 0; i < 3; i++) {
            client.assertEcho("after restore " + i);
        }
    }

    @Test
    void listenerFailureAbortsTheDumpAndTheServiceRunsOn() throws Exception {
        long root = bed.startServer();
        CriuTestBed.Client client = bed.client();
        client.assertEcho("one");

        IllegalStateException refusal = new IllegalStateException("destination refused");
        List<CriuNotification> seen = new ArrayList<>();
        CriuException e = assertThrows(CriuException.class, () -> criu.dump(dumpOptions(root).leaveStopped(true).build(), n -> {
            seen.add(n);
            throw refusal;
        }));
        assertEquals(refusal, e.getCause());
        assertTrue(e.getMessage().contains("listener failed at " + seen.get(0).script()), e.getMessage());
        assertTrue(e.getMessage().contains("CRIU log"), "quotes CRIU's log: " + e.getMessage());
        assertEquals(1, seen.size(), "no notification after the failed one reaches the listener");

        assertTrue(List.of("R", "S").contains(FrozenTree.state(root)), "CRIU resumed the tree itself");
        client.assertEcho("after abort");
    }

    @Test
    void timeoutMakesCriuAbortAtTheNextPhase() throws Exception {
        long root = bed.startServer();
        CriuTestBed.Client client = bed.client();
        client.assertEcho("one");

        CriuException e = assertThrows(CriuException.class, () -> criu.dump(dumpOptions(root).leaveStopped(true)
                .timeout(java.time.Duration.ofMillis(300)).build(), n -> {
                    if (n.phase().orElse(null) == CriuPhase.POST_DUMP) {
                        Thread.sleep(600);
                    }
                }));
        assertTrue(e.getMessage().contains("no answer within 300 ms"), e.getMessage());
        assertTrue(e.getMessage().contains("CRIU aborted at post-dump and rolled back"), e.getMessage());

        new FrozenTree(root).resume();
        assertTrue(List.of("R", "S").contains(FrozenTree.state(root)), "resumed");
        client.assertEcho("after rollback");
    }

    @Test
    void interruptMakesCriuAbortAndRollBackItself() throws Exception {
        long root = bed.startServer();
        CriuTestBed.Client client = bed.client();
        client.assertEcho("one");

        List<CriuNotification> seen = new ArrayList<>();
        InterruptedException e = assertThrows(InterruptedException.class, () -> criu.dump(
                dumpOptions(root).leaveStopped(true).build(), n -> {
                    seen.add(n);
                    if (n.phase().orElse(null) == CriuPhase.PRE_DUMP) {
                        Thread.currentThread().interrupt(); // as an operator's abort would, mid-dump
                    }
                }));
        assertTrue(e.getMessage().contains("CRIU aborted at"), e.getMessage());
        assertEquals(1, seen.size(), "after the interrupt the listener is not called again: " + seen);
        assertFalse(Thread.interrupted(), "the interrupt was consumed by the InterruptedException");
        assertEquals(List.of(), criuChildren(), "criu reaped before dump() returned");

        assertTrue(List.of("R", "S").contains(FrozenTree.state(root)), "CRIU resumed the tree itself");
        assertEquals(0, new FrozenTree(root).resume(), "the rollback call is harmless: no socket in repair mode");
        client.assertEcho("after abort");
    }

    private long netnsInodeOfFile() throws Exception {
        return ((Number) Files.getAttribute(bed.netnsFile(), "unix:ino")).longValue();
    }

    private static boolean waitState(long pid, String state) throws InterruptedException {
        for (int i = 0; i < 200; i++) {
            if (state.equals(FrozenTree.state(pid))) {
                return true;
            }
            Thread.sleep(5);
        }
        return false;
    }

    private static boolean waitGone(long pid) throws InterruptedException {
        for (int i = 0; i < 500; i++) {
            String s = FrozenTree.state(pid);
            if (s == null || s.equals("Z")) {
                return true;
            }
            Thread.sleep(10);
        }
        return false;
    }
}
