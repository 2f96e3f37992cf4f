package io.svcmove.migrator.move;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.svcmove.arp.Announcement;
import io.svcmove.migrator.config.AgentConfig;
import io.svcmove.migrator.criu.CriuException;
import io.svcmove.migrator.criu.CriuFake;
import io.svcmove.migrator.criu.ImageDir;
import io.svcmove.migrator.criu.CriuDaemon;
import io.svcmove.migrator.criu.PageServerTls;
import io.svcmove.migrator.pki.ClusterPki;
import io.svcmove.migrator.service.MoveStage;
import io.svcmove.migrator.service.ServiceRecord;
import io.svcmove.migrator.service.ServiceRegistry;
import io.svcmove.vip.Cell;
import io.svcmove.vip.CellSpec;
import io.svcmove.vip.ServiceLauncher;
import io.svcmove.vip.Vips;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The destination's side of a move with its cells, CRIU, relay, ARP and source faked: the stages
 * a move goes through here, what each request changes, and what a bad or late one leaves alone.
 */
class IncomingMovesTest {
    /** Not a bed node's name: the images this test leaves in /dev/shm are its own. */
    private static final String NODE = "unit-dest";
    private static final String ID = "web-0a1b2c3d";
    @TempDir Path pki;
    @TempDir Path state;
    private final List<String> trace = Collections.synchronizedList(new ArrayList<>());
    private final Map<String, FakeCell> cells = new ConcurrentHashMap<>();
    private final CriuFake criu = new CriuFake(trace::add).restoring(5151);
    private ServiceRegistry registry;
    private Path certificate;
    private IncomingMoves incoming;

    @BeforeEach
    void destination() throws Exception {
        ClusterPki.createCa(pki);
        ClusterPki.Issued node = ClusterPki.issueNode(pki, NODE, List.of(InetAddress.getLoopbackAddress()));
        certificate = node.certificate();
        AgentConfig config = new AgentConfig(NODE, "127.0.0.1:0", null, state.toString(), state.toString(), null,
                new AgentConfig.Tls(pki.resolve(ClusterPki.CA_CERT).toString(), certificate.toString(), node.key().toString()),
                null, null, null, null, null);
        registry = new ServiceRegistry(state);
        incoming = new IncomingMoves(() -> config, new FakeEffects(), registry, "4.2", FaultInjection.OFF);
    }

    @AfterEach
    void removeImages() throws IOException {
        ImageDir.removeLeftovers(IncomingMoves.imagePrefix(NODE));
    }

    @Test
    void aMoveIsPreparedRestoredAndCommittedHere() throws Exception {
        MoveMessages.Prepared prepared = incoming.prepare("node1", prepare(ID));
        assertEquals(NODE, prepared.node());
        assertEquals(Files.readString(certificate), prepared.certificate(), "prepare answers with this node's certificate");
        assertEquals(List.of("cell web created held", "cell web openHoldControl"), trace);
        assertTrue(registry.find("web").isEmpty(), "before it arrives, a move is in memory only");

        arrive(ID);
        MoveMessages.Restored restored = incoming.restore("node1", new MoveMessages.Restore(ID, 5, null, 0, null, 0,
                List.of(new byte[20], new byte[40], new byte[60])));
        assertEquals(5151, restored.pid());
        assertEquals(3, restored.injected(), "what the clients sent until the restore goes in as soon as the service runs");
        assertEquals(List.of("cell web created held", "cell web openHoldControl", "criu restore", "cell web release (recorded arrived)",
                "cell web inject 3"), trace, "the arrival is recorded before the hold is lifted, and the packets go in after");
        ServiceRecord r = registry.find("web").orElseThrow();
        assertEquals(new ServiceRecord.Arrival(ID, "node1", MoveStage.ARRIVED), r.arrival());
        assertEquals(NODE, r.node());
        assertEquals(5151, r.pid());

        assertEquals(new MoveMessages.Kept(true, MoveStage.ARRIVED), incoming.announce("node1", ref(ID)));
        assertTrue(trace.contains("announce 198.18.0.100"), trace.toString());
        assertEquals(new MoveMessages.Injected(2), incoming.inject("node1", new MoveMessages.Inject(ID, List.of(new byte[1], new byte[2]))));

        assertEquals(new MoveMessages.Kept(true, MoveStage.COMMITTED), incoming.commit("node1", ref(ID)));
        assertEquals(MoveStage.COMMITTED, registry.find("web").orElseThrow().arrival().stage());
        assertEquals("cell web closeHoldControl", trace.get(trace.size() - 1), "the hold's nft ends with the move, outside the freeze");
        assertThrows(IOException.class, () -> incoming.imagesFor(ID), "the move's images are gone with it");
        assertFalse(trace.stream().anyMatch(t -> t.contains("destroyed")), trace.toString());
    }

    @Test
    void aCommitForAnUnknownMoveIsRefusedAndKillsNothing() throws Exception {
        incoming.prepare("node1", prepare(ID));
        IllegalStateException early = assertThrows(IllegalStateException.class, () -> incoming.commit("node1", ref(ID)));
        assertEquals("move " + ID + " has not arrived on " + NODE + " (it is at stage prepared)", early.getMessage());

        arrive(ID);
        incoming.restore("node1", restore(ID));
        ServiceRecord before = registry.find("web").orElseThrow();
        IllegalStateException unknown = assertThrows(IllegalStateException.class, () -> incoming.commit("node1", ref("web-ffffffff")));
        assertEquals("no move web-ffffffff arrived on " + NODE + " (unknown move id, or it was aborted)", unknown.getMessage());
        assertEquals(before, registry.find("web").orElseThrow(), "the move that did arrive is left as it was");
        assertTrue(cells.containsKey("web"));
        assertFalse(trace.stream().anyMatch(t -> t.contains("destroyed")), trace.toString());
    }

    @Test
    void anAbortAfterCommitIsRefusedAndTheServiceStays() throws Exception {
        restored(ID);
        IllegalStateException arrived = assertThrows(IllegalStateException.class, () -> incoming.abort("node1", ref(ID)));
        assertTrue(arrived.getMessage().contains("is arrived on " + NODE + ": web runs here and is not rolled back"), arrived.getMessage());
        incoming.commit("node1", ref(ID));
        IllegalStateException committed = assertThrows(IllegalStateException.class, () -> incoming.abort("node1", ref(ID)));
        assertTrue(committed.getMessage().contains("is committed on " + NODE), committed.getMessage());
        assertEquals(MoveStage.COMMITTED, registry.find("web").orElseThrow().arrival().stage());
        assertTrue(cells.containsKey("web"));
        assertFalse(trace.stream().anyMatch(t -> t.contains("destroyed")), trace.toString());
    }

    @Test
    void aReplayedCommitGetsTheFirstCommitsReply() throws Exception {
        restored(ID);
        MoveMessages.Kept first = incoming.commit("node1", ref(ID));
        ServiceRecord after = registry.find("web").orElseThrow();
        assertEquals(first, incoming.commit("node1", ref(ID)));
        assertEquals(first, incoming.commit("node1", ref(ID)));
        assertEquals(after, registry.find("web").orElseThrow(), "a replay changes nothing");
    }

    @Test
    void aRestoreThatFailsLeavesNoCellNorRecord() throws Exception {
        criu.failRestores("restore failed (injected)");
        incoming.prepare("node1", prepare(ID));
        arrive(ID);
        CriuException e = assertThrows(CriuException.class, () -> incoming.restore("node1", restore(ID)));
        assertEquals("restore failed (injected)", e.getMessage());
        assertTrue(trace.contains("cell web destroyed"), trace.toString());
        assertTrue(cells.isEmpty());
        assertTrue(registry.find("web").isEmpty());
        assertFalse(trace.stream().anyMatch(t -> t.startsWith("cell web release")), "the hold is never lifted: " + trace);
        assertThrows(IOException.class, () -> incoming.imagesFor(ID), "its images are gone");
        // The source's abort that follows finds the move gone, and a restore retried is refused.
        assertEquals(new MoveMessages.Aborted(false), incoming.abort("node1", ref(ID)));
        IllegalStateException again = assertThrows(IllegalStateException.class, () -> incoming.restore("node1", restore(ID)));
        assertEquals("no move " + ID + " is under way on " + NODE, again.getMessage());
    }

    @Test
    void anAbortBeforeTheRestoreDropsTheCellAndIsIdempotent() throws Exception {
        incoming.prepare("node1", prepare(ID));
        assertEquals(new MoveMessages.Aborted(true), incoming.abort("node1", ref(ID)));
        assertTrue(cells.isEmpty());
        assertEquals(List.of("cell web created held", "cell web openHoldControl", "cell web closeHoldControl", "cell web destroyed"), trace);
        assertEquals(new MoveMessages.Aborted(false), incoming.abort("node1", ref(ID)));
        assertEquals(new MoveMessages.Kept(false, null), incoming.claim("node1", ref(ID)), "a claim after the abort: not here");
    }

    @Test
    void aSecondPrepareOfTheSameServiceIsRefusedOnceItArrived() throws Exception {
        restored(ID);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> incoming.prepare("node1", prepare("web-99999999")));
        assertTrue(e.getMessage().contains("a service named web already runs on " + NODE), e.getMessage());
        assertEquals(1, trace.stream().filter(t -> t.equals("cell web created held")).count());
    }

    @Test
    void aPrecopyMovesRoundsArriveBesideItsImagesAndAreLinkedAsTheirParentsBeforeTheRestore() throws Exception {
        incoming.prepare("node1", prepare(ID));
        Path images = incoming.imagesFor(ID);
        for (int n = 1; n <= 3; n++) {
            Path round = incoming.imagesFor(PrecopyImages.transferId(ID, n));
            assertEquals(images.resolveSibling("pre-" + n), round, "round " + n + " beside the final images");
            Files.createDirectories(round);
        }
        arrive(ID);
        incoming.restore("node1", new MoveMessages.Restore(ID, 5, null, 0, null, 3, null));
        assertEquals(images, criu.lastRestore().imagesDir(), "CRIU restores from the final images");
        assertEquals(Path.of("../pre-3"), Files.readSymbolicLink(images.resolve("parent")), "the final images' parent: the last round");
        assertEquals(Path.of("../pre-2"), Files.readSymbolicLink(images.resolveSibling("pre-3").resolve("parent")));
        assertEquals(Path.of("../pre-1"), Files.readSymbolicLink(images.resolveSibling("pre-2").resolve("parent")));
        assertFalse(Files.exists(images.resolveSibling("pre-1").resolve("parent"), LinkOption.NOFOLLOW_LINKS),
                "the first round has none");
        assertTrue(Files.isDirectory(images.resolve("parent/parent/parent")), "the links resolve, as CRIU follows them");
    }

    @Test
    void aPrecopyRestoreWhoseRoundDidNotArriveFailsAndDropsTheMove() throws Exception {
        incoming.prepare("node1", prepare(ID));
        Files.createDirectories(incoming.imagesFor(PrecopyImages.transferId(ID, 1)));
        arrive(ID);
        IOException e = assertThrows(IOException.class, () -> incoming.restore("node1", new MoveMessages.Restore(ID, 5, null, 0, null, 2, null)));
        assertTrue(e.getMessage().startsWith("pre-copy round 2 of 2 did not arrive"), e.getMessage());
        assertFalse(trace.contains("criu restore"), trace.toString());
        assertTrue(cells.isEmpty(), "the move is dropped, as any failed restore");
    }

    @Test
    void aRoundBeyondTheMostEverMadeHasNoPlaceHere() throws Exception {
        incoming.prepare("node1", prepare(ID));
        assertThrows(IOException.class, () -> incoming.imagesFor(PrecopyImages.transferId(ID, PrecopyPolicy.MAX_ROUNDS + 1)));
        assertThrows(IOException.class, () -> incoming.imagesFor(PrecopyImages.transferId("web-ffffffff", 1)), "an unknown move");
    }

    private static MoveMessages.Prepare prepare(String id) {
        ServiceRecord svc = new ServiceRecord("web", "node1", "198.18.0.100/24", "02:5c:c6:12:00:64", "eth0", null, List.of("nginx"),
                Map.of(), "/", 4242, 0, "node1.web", 0, null, null, null, null, null, null);
        return new MoveMessages.Prepare(id, "4.2", null, svc, List.of(), null, null);
    }

    private static MoveMessages.Restore restore(String id) {
        return new MoveMessages.Restore(id, 5, null, 0, null, 0, null);
    }

    private static MoveMessages.MoveRef ref(String id) {
        return new MoveMessages.MoveRef(id, "web");
    }

    /** A move prepared, its images arrived, and restored. */
    private void restored(String id) throws Exception {
        incoming.prepare("node1", prepare(id));
        arrive(id);
        incoming.restore("node1", restore(id));
    }

    /** What the source's transfer does: the images directory of the move, filled (here: empty). */
    private void arrive(String id) throws IOException {
        Files.createDirectories(incoming.imagesFor(id));
    }

    private final class FakeEffects implements IncomingMoves.Effects {
        @Override
        public CellStore<ArrivingCell> cells() {
            return new CellStore<>() {
                @Override
                public Optional<ArrivingCell> find(String service) {
                    return Optional.ofNullable(cells.get(service));
                }

                @Override
                public void destroy(String service) {
                    if (cells.remove(service) != null) {
                        trace.add("cell " + service + " destroyed");
                    }
                }
            };
        }

        @Override
        public ArrivingCell createHeld(CellSpec spec) {
            trace.add("cell " + spec.service() + " created held");
            try {
                FakeCell c = new FakeCell(spec.service(), spec.vips(), Files.createTempFile(state, "netns-", ""));
                cells.put(spec.service(), c);
                return c;
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        public CriuFake criu() {
            return criu;
        }

        @Override
        public ServiceLauncher.Relay startRelay(Path logFile, Duration attachWindow) {
            return new ServiceLauncher.Relay(0, state.resolve("relay.pipe"));
        }

        @Override
        public void announce(String iface, Announcement announcement) {
            trace.add("announce " + announcement.vip().getHostAddress());
        }

        @Override
        public <T> T call(String node, String type, Object request, Class<T> reply, Duration timeout) {
            return reply.cast(new MoveMessages.Active(true));
        }

        @Override
        public CriuDaemon startLazyPages(Path imagesDir, Path workDir, String address, int port, PageServerTls tls) {
            throw new UnsupportedOperationException("eager moves only");
        }

        @Override
        public CriuDaemon startLocalPages(Path imagesDir, Path workDir) {
            throw new UnsupportedOperationException("moves sent after the dump only");
        }

        @Override
        public CriuDaemon startPageServer(Path pagesDir, Path workDir, String address, int port, PageServerTls tls) {
            throw new UnsupportedOperationException("moves sent after the dump only");
        }

        @Override
        public void removeLeftoverPageSinks(String imagePrefix) {}
    }

    private final class FakeCell implements ArrivingCell {
        private final String service;
        private final Vips vips;
        private final Path netns;

        FakeCell(String service, Vips vips, Path netns) {
            this.service = service;
            this.vips = vips;
            this.netns = netns;
        }

        @Override
        public Vips vips() {
            return vips;
        }

        @Override
        public String netnsName() {
            return NODE + "." + service;
        }

        @Override
        public Path netnsPath() {
            return netns;
        }

        @Override
        public void addNeighbors(List<Cell.Neighbor> neighbors) {}

        @Override
        public void openHoldControl() {
            trace.add("cell " + service + " openHoldControl");
        }

        @Override
        public void closeHoldControl() {
            trace.add("cell " + service + " closeHoldControl");
        }

        @Override
        public void release() {
            boolean recorded = registry.find(service).map(r -> r.arrival() != null && r.arrival().stage() == MoveStage.ARRIVED)
                    .orElse(false);
            trace.add("cell " + service + " release" + (recorded ? " (recorded arrived)" : ""));
        }

        @Override
        public int inject(List<byte[]> packets) {
            trace.add("cell " + service + " inject " + packets.size());
            return packets.size();
        }
    }
}
