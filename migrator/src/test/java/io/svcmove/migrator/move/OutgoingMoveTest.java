package io.svcmove.migrator.move;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.svcmove.migrator.criu.CriuFake;
import io.svcmove.migrator.criu.DumpOptions;
import io.svcmove.migrator.criu.ImageDir;
import io.svcmove.migrator.peer.PeerCallException;
import io.svcmove.migrator.peer.PeerNotReachedException;
import io.svcmove.migrator.peer.ProgressListener;
import io.svcmove.migrator.service.MoveStage;
import io.svcmove.migrator.service.ServiceRecord;
import io.svcmove.migrator.service.ServiceRegistry;
import io.svcmove.vip.Cell;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.LongPredicate;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The source's step table of a move, run against fakes of its cell, CRIU, its frozen copy and the
 * destination (whose answers each test scripts): what is done and undone, in which order, what the
 * record says, and above all that the frozen copy is killed only after the destination said it keeps
 * the service and resumed only once the destination is known not to have it.
 */
class OutgoingMoveTest {
    private static final String TO = "node2";

    @TempDir
    Path state;

    private final List<String> trace = new ArrayList<>();
    /** What the images the destination got hold besides CRIU's. */
    private final List<String> sent = new ArrayList<>();
    /** The destination's answers by request type, in order; the last one repeats. */
    private final Map<String, Deque<Object>> answers = new HashMap<>();
    private final CriuFake criu = new CriuFake(trace::add);
    private ServiceRegistry registry;
    private ServiceRecord svc;
    /** The move pre-copies. */
    private boolean precopy;
    /** What each transfer carried: its id, and the files of its directory. */
    private final List<String> transfers = new ArrayList<>();

    @BeforeEach
    void service() throws IOException {
        registry = new ServiceRegistry(state);
        svc = new ServiceRecord("web", "node1", "198.18.0.100/24", "02:5c:c6:12:00:64", "eth0", null, List.of("nginx"), Map.of(), "/",
                4242, 0, "node1.web", 0, null, null, null, null, null, null);
        registry.save(svc);
        answer(MoveMessages.Type.PREPARE, new MoveMessages.Prepared(TO, "4.2.1", null, null, 0, null));
        answer(MoveMessages.Type.RESTORE, new MoveMessages.Restored(5151, 90, 0, 0));
        answer(MoveMessages.Type.ANNOUNCE, new MoveMessages.Kept(true, MoveStage.ARRIVED));
        answer(MoveMessages.Type.COMMIT, new MoveMessages.Kept(true, MoveStage.COMMITTED));
        answer(MoveMessages.Type.CLAIM, new MoveMessages.Kept(false, null));
        answer(MoveMessages.Type.ABORT, new MoveMessages.Aborted(true));
    }

    /** The destination answers TYPE with these, one a call; an exception is thrown (a PeerCallException: answered, failed). */
    private void answer(String type, Object... replies) {
        answers.put(type, new ArrayDeque<>(List.of(replies)));
    }

    private static IOException lost(String what) {
        return new IOException("connection to " + TO + " lost (" + what + ")");
    }

    private static PeerCallException refused(String type, String why) {
        return new PeerCallException(TO, type, why);
    }

    @Test
    void aMoveThatGoesThroughKillsTheCopyOnlyAfterTheCommitAndForgetsTheService() throws Exception {
        OutgoingMove.Report r = move().run(svc, cell(), TO, "4.2.1");
        assertEquals(5151, r.pid());
        assertEquals(List.of("call move.prepare", "cell openHoldControl", "cell hold", "criu dump", "send", "call move.restore",
                "cell linkDown", "call move.announce", "call move.commit", "copy kill", "cell closeHoldControl", "cells destroy web"),
                trace);
        assertTrue(registry.find("web").isEmpty(), "the source forgets the service");
    }

    @Test
    void aCarriedFileGoesWithTheImagesAndLeavesTheSourceOnlyOnceTheDestinationKeepsTheService() throws Exception {
        Path pidfile = carrying();
        move().run(svc, cell(), TO, "4.2.1");
        assertEquals(List.of("carried.json"), sent);
        assertFalse(Files.exists(pidfile), "the source's copy is gone: " + trace);
    }

    @Test
    void aRolledBackMoveLeavesTheCarriedFileWhereTheServiceRuns() throws Exception {
        Path pidfile = carrying();
        answer(MoveMessages.Type.RESTORE, refused(MoveMessages.Type.RESTORE, "CRIU failed"));
        assertThrows(MoveFailedException.class, () -> move().run(svc, cell(), TO, "4.2.1"));
        assertEquals("7\n", Files.readString(pidfile));
    }

    /** The service carries a pidfile it has written. */
    private Path carrying() throws IOException {
        Path pidfile = state.resolve("web.pid");
        Files.writeString(pidfile, "7\n");
        svc = new ServiceRecord(svc.name(), svc.node(), svc.vip(), svc.mac(), svc.iface(), null, svc.command(), svc.env(), svc.cwd(),
                svc.pid(), 0, svc.netns(), 0, null, null, List.of(pidfile.toString()), null, null, null);
        registry.save(svc);
        return pidfile;
    }

    /** A full packet buffer (16 MiB) goes to the destination in messages that fit a peer frame, in order, none left out. */
    @Test
    void bufferedPacketsGoInBatchesThatFitAPeerMessage() {
        int mtu = 1500;
        List<byte[]> packets = new ArrayList<>();
        for (int i = 0; i < (16 << 20) / mtu; i++) {
            packets.add(new byte[mtu]);
        }
        packets.add(new byte[(int) OutgoingMove.INJECT_BATCH_BYTES + 1]);
        List<List<byte[]>> batches = OutgoingMove.batches(packets);
        assertEquals(packets, batches.stream().flatMap(List::stream).toList(), "every packet once, in order");
        assertTrue(batches.stream().allMatch(b -> b.size() == 1 || b.stream().mapToLong(p -> p.length).sum()
                <= OutgoingMove.INJECT_BATCH_BYTES), "each batch within the bound, or one packet alone");
        assertEquals(5, batches.size(), "four of 4 MiB, then the large one alone");
        assertEquals(List.of(), OutgoingMove.batches(List.of()));
    }

    @Test
    void aFailedDumpResumesTheTreeAndLiftsTheHoldAndTheDestinationDropsItsCell() {
        criu.failDumps("dump failed (injected)");
        MoveFailedException e = assertThrows(MoveFailedException.class, () -> move().run(svc, cell(), TO, "4.2.1"));
        assertEquals("dump, leaving the tree stopped", e.step());
        assertEquals(List.of("call move.prepare", "cell openHoldControl", "cell hold", "criu dump", "copy resume", "cell release",
                "cell closeHoldControl", "call move.abort"), trace);
        assertEquals(null, registry.find("web").orElseThrow().move(), "the record is as before the move");
    }

    @Test
    void aRestoreTheDestinationRefusedIsAskedAsAClaimThenRolledBack() {
        answer(MoveMessages.Type.RESTORE, refused(MoveMessages.Type.RESTORE, "CRIU failed"));
        assertThrows(MoveFailedException.class, () -> move().run(svc, cell(), TO, "4.2.1"));
        assertEquals(List.of("call move.prepare", "cell openHoldControl", "cell hold", "criu dump", "send", "call move.restore",
                "call move.claim", "copy resume", "cell release", "cell closeHoldControl", "call move.abort"), trace);
        assertFalse(trace.contains("copy kill"));
    }

    @Test
    void aRestoreWhoseAnswerWasLostGoesOnWhenTheDestinationSaysItHasTheService() throws Exception {
        answer(MoveMessages.Type.RESTORE, lost("restore"));
        answer(MoveMessages.Type.CLAIM, new MoveMessages.Kept(true, MoveStage.COMMITTED));
        move().run(svc, cell(), TO, "4.2.1");
        assertEquals(List.of("call move.prepare", "cell openHoldControl", "cell hold", "criu dump", "send", "call move.restore",
                "call move.claim", "cell linkDown", "call move.announce", "call move.commit", "copy kill", "cell closeHoldControl",
                "cells destroy web"), trace);
    }

    @Test
    void aRestoreThatNeverReachedTheDestinationRollsBackWithoutItsAnswer() {
        answer(MoveMessages.Type.RESTORE, new PeerNotReachedException(TO + " unreachable: connection refused", null));
        answer(MoveMessages.Type.CLAIM, lost("claim"));
        MoveFailedException e = assertThrows(MoveFailedException.class, () -> move().run(svc, cell(), TO, "4.2.1"));
        assertEquals("destination restores and lifts its hold", e.step());
        assertEquals(List.of("call move.prepare", "cell openHoldControl", "cell hold", "criu dump", "send", "call move.restore",
                "copy resume", "cell release", "cell closeHoldControl", "call move.abort"), trace);
        assertEquals(null, registry.find("web").orElseThrow().move(), "the record is as before the move");
    }

    @Test
    void aRestoreWhoseOutcomeNobodyCanTellLeavesTheServiceFrozenNeitherResumedNorKilled() {
        answer(MoveMessages.Type.RESTORE, lost("restore"));
        answer(MoveMessages.Type.CLAIM, lost("claim"));
        MoveUnresolvedException e = assertThrows(MoveUnresolvedException.class, () -> move().run(svc, cell(), TO, "4.2.1"));
        assertEquals(MoveStage.RESTORING, e.stage());
        assertFalse(trace.contains("copy resume") || trace.contains("copy kill"), trace.toString());
        assertFalse(trace.contains("cell release"), "the clients stay held off: " + trace);
        assertEquals(MoveStage.RESTORING, registry.find("web").orElseThrow().move().stage(), "recovery finishes it from the record");
    }

    @Test
    void aCommitWhoseAnswerWasLostLeavesTheFrozenCopyAlive() {
        answer(MoveMessages.Type.COMMIT, lost("commit"));
        MoveUnresolvedException e = assertThrows(MoveUnresolvedException.class, () -> move().run(svc, cell(), TO, "4.2.1"));
        assertEquals(MoveStage.ARRIVED, e.stage());
        assertFalse(trace.contains("copy kill") || trace.contains("copy resume"), trace.toString());
        assertEquals(MoveStage.ARRIVED, registry.find("web").orElseThrow().move().stage());
    }

    @Test
    void aDestinationThatLostItsCopyBeforeTheCommitGetsTheServiceBackHere() {
        answer(MoveMessages.Type.COMMIT, refused(MoveMessages.Type.COMMIT, "no move web-1 arrived on node2"));
        answer(MoveMessages.Type.CLAIM, new MoveMessages.Kept(false, null));
        assertThrows(MoveFailedException.class, () -> move().run(svc, cell(), TO, "4.2.1"));
        int commit = trace.indexOf("call move.commit");
        assertEquals(List.of("call move.claim", "cell linkUp", "announce 198.18.0.100", "call move.claim", "copy resume", "cell release",
                "cell closeHoldControl", "call move.abort"), trace.subList(commit + 1, trace.size()),
                "asked again as a claim (definite), then the VIP back here and the copy resumed");
        assertFalse(trace.contains("copy kill"));
    }

    @Test
    void aDestinationThatLostItsCopyBeforeTheAnnounceGetsTheServiceBackHereWithTheCause() {
        answer(MoveMessages.Type.ANNOUNCE, refused(MoveMessages.Type.ANNOUNCE, "move web-1 lost its copy on node2: copying its"
                + " memory in from the images here failed"));
        answer(MoveMessages.Type.CLAIM, new MoveMessages.Kept(false, null));
        MoveFailedException e = assertThrows(MoveFailedException.class, () -> move().run(svc, cell(), TO, "4.2.1"));
        assertTrue(e.getMessage().contains("node2 has no copy of web: ") && e.getMessage().contains("copying its memory in"),
                e.getMessage());
        int announce = trace.indexOf("call move.announce");
        assertEquals(List.of("call move.claim", "cell linkUp", "announce 198.18.0.100", "call move.claim", "copy resume"),
                trace.subList(announce + 1, announce + 6), "asked again as a claim (definite), then the copy back here");
        assertFalse(trace.contains("copy kill") || trace.contains("call move.commit"), trace.toString());
    }

    @Test
    void anAnnounceThatFailedOnTheDestinationGoesOnWhenItsClaimKeepsTheService() throws Exception {
        answer(MoveMessages.Type.ANNOUNCE, refused(MoveMessages.Type.ANNOUNCE, "cannot send ARP on eth0"));
        answer(MoveMessages.Type.CLAIM, new MoveMessages.Kept(true, MoveStage.COMMITTED));
        assertEquals(5151, move().run(svc, cell(), TO, "4.2.1").pid());
        assertTrue(trace.indexOf("call move.claim") > trace.indexOf("call move.announce") && trace.contains("copy kill"), trace.toString());
    }

    @Test
    void aRefusedPrepareChangesNothingHere() {
        answer(MoveMessages.Type.PREPARE, refused(MoveMessages.Type.PREPARE, "a service named web already runs on node2"));
        MoveFailedException e = assertThrows(MoveFailedException.class, () -> move().run(svc, cell(), TO, "4.2.1"));
        assertEquals(Phase.PREPARE, e.phase());
        assertEquals(List.of("call move.prepare", "call move.abort"), trace);
    }

    @Test
    void anAgentThatDiedFrozenRollsTheMoveBackFromItsRecord() throws Exception {
        registry.save(svc.moving(new ServiceRecord.MoveInFlight("web-1", TO, MoveStage.FROZEN, false)));
        assertThrows(MoveFailedException.class, () -> move().recover(registry.find("web").orElseThrow()));
        assertEquals(List.of("copy resume", "cell release", "cell closeHoldControl", "call move.abort"), trace);
        assertEquals(null, registry.find("web").orElseThrow().move());
    }

    @Test
    void anAgentThatDiedFrozenInALazyMoveStopsTheCriuItLeftServingAfterResumingTheCopy() {
        registry.save(svc.moving(new ServiceRecord.MoveInFlight("web-1", TO, MoveStage.FROZEN, true)));
        assertThrows(MoveFailedException.class, () -> move().recover(registry.find("web").orElseThrow()));
        assertEquals(List.of("copy resume", "copy stopLeftServer"), trace.subList(0, 2), "CRIU lets the copy run once killed");
        assertEquals(null, registry.find("web").orElseThrow().move());
    }

    @Test
    void anAgentThatDiedAfterTheArrivalFinishesTheMoveFromItsRecord() throws Exception {
        registry.save(svc.moving(new ServiceRecord.MoveInFlight("web-1", TO, MoveStage.ARRIVED, false)));
        move().recover(registry.find("web").orElseThrow());
        assertEquals(List.of("cell linkDown", "call move.announce", "call move.commit", "copy kill", "cell closeHoldControl",
                "cells destroy web"), trace);
        assertTrue(registry.find("web").isEmpty());
    }

    @Test
    void aPrecopyMoveDumpsRoundsWhileTheServiceRunsUntilTheyStopShrinkingThenFreezesForTheRest() throws Exception {
        precopy = true;
        criu.preDumpPages(65_536, 2_000, 1_900).dumpPages(300);
        OutgoingMove.Report r = move().run(svc, cell(), TO, "4.2.1");
        assertEquals(List.of("call move.prepare", "cell openHoldControl", "criu pre-dump 1", "send", "criu pre-dump 2", "send",
                "criu pre-dump 3", "send", "cell hold", "criu dump", "send", "call move.restore"), trace.subList(0, 12),
                "every round sent before the next, all before the hold; round 3 shrank by under 10 %: the last");
        assertEquals(List.of("pre-1 pre-1", "pre-2 pre-2", "pre-3 pre-3"), transfers.subList(0, 3), "each round its own transfer");
        assertEquals(List.of(65_536L, 2_000L, 1_900L), r.precopyRounds().stream().map(OutgoingMove.Round::pages).toList());
        assertEquals(List.of(1, 2, 3), r.precopyRounds().stream().map(OutgoingMove.Round::round).toList());
        assertEquals(300, r.finalDumpPages());
        assertEquals("precopy", r.mode());
    }

    @Test
    void eachRoundAndTheFinalDumpTakeTheRoundBeforeAsParentAndTrackMemory() throws Exception {
        precopy = true;
        criu.preDumpPages(5_000, 1_000, 40);
        move().run(svc, cell(), TO, "4.2.1");
        List<DumpOptions> dumps = criu.dumps();
        assertEquals(4, dumps.size(), "three rounds (the third under 64 pages), then the final dump");
        assertEquals(Arrays.asList(null, "../pre-1", "../pre-2", "../pre-3"), dumps.stream().map(DumpOptions::parent).toList());
        assertEquals(List.of("pre-1", "pre-2", "pre-3", "images"), dumps.stream().map(d -> d.imagesDir().getFileName().toString())
                .toList(), "the rounds beside the final images, where the parent links point");
        assertTrue(dumps.get(3).leaveStopped(), "the final dump keeps the tree frozen");
        assertFalse(dumps.get(0).leaveStopped(), "a round leaves it running");
    }

    @Test
    void precopyStopsAfterEightRounds() throws Exception {
        precopy = true;
        criu.preDumpPages(100_000, 50_000, 25_000, 12_000, 6_000, 3_000, 1_500, 700, 300);
        OutgoingMove.Report r = move().run(svc, cell(), TO, "4.2.1");
        assertEquals(8, r.precopyRounds().size());
        assertEquals("../pre-8", criu.dumps().get(8).parent());
    }

    @Test
    void aFailedRoundRollsTheMoveBackWithTheServiceNeverStopped() {
        precopy = true;
        criu.preDumpPages(5_000, 1_000).failPreDump(2);
        MoveFailedException e = assertThrows(MoveFailedException.class, () -> move().run(svc, cell(), TO, "4.2.1"));
        assertEquals(Phase.PRECOPY, e.phase());
        assertEquals("pre-dump", e.stepId());
        assertEquals(List.of("call move.prepare", "cell openHoldControl", "criu pre-dump 1", "send", "criu pre-dump 2",
                "cell closeHoldControl", "call move.abort"), trace, "never held, dumped or resumed: it ran all along");
        assertEquals(null, registry.find("web").orElseThrow().move(), "the record is as before the move");
    }

    @Test
    void anAgentThatDiedDuringPreCopyRollsBackFromItsRecordAndTheRoundsGoWithTheImages() throws Exception {
        ImageDir left = ImageDir.create(IncomingMoves.imagePrefix("node1") + "web-1-");
        Files.createDirectory(left.path().resolve("pre-1"));
        Files.writeString(left.path().resolve("pre-1").resolve("pages-1.img"), "memory");
        registry.save(svc.moving(new ServiceRecord.MoveInFlight("web-1", TO, MoveStage.PREPARED, false)));
        assertThrows(MoveFailedException.class, () -> move().recover(registry.find("web").orElseThrow()));
        assertEquals(List.of("cell closeHoldControl", "call move.abort"), trace, "the service never stopped: nothing resumed");
        assertFalse(Files.exists(left.path()), "the rounds' images are deleted with the move's");
        assertEquals(null, registry.find("web").orElseThrow().move());
    }

    @Test
    void anEagerMoveMakesNoRound() throws Exception {
        OutgoingMove.Report r = move().run(svc, cell(), TO, "4.2.1");
        assertTrue(r.precopyRounds().isEmpty());
        assertEquals(null, criu.dumps().get(0).parent());
        assertEquals("eager", r.mode());
    }

    private OutgoingMove move() {
        OutgoingMove.Effects effects = new OutgoingMove.Effects(new CellStore<SourceCell>() {
            @Override
            public Optional<SourceCell> find(String service) {
                return Optional.of(cell());
            }

            @Override
            public void destroy(String service) {
                trace.add("cells destroy " + service);
            }
        }, criu, destination(), (iface, a) -> trace.add("announce " + a.vip().getHostAddress()), (s, c) -> copy());
        return new OutgoingMove(effects, registry, state, new MoveListener() {}, FaultInjection.OFF,
                new OutgoingMove.Options(0, 0, Duration.ZERO, null, precopy, Duration.ofSeconds(1), Duration.ofSeconds(1), null));
    }

    private DestinationLink destination() {
        return new DestinationLink() {
            @Override
            public <T> T call(String node, String type, Object request, Class<T> reply, Duration timeout) throws Exception {
                trace.add("call " + type);
                Deque<Object> q = answers.get(type);
                Object a = q.size() > 1 ? q.poll() : q.peek();
                if (a instanceof Exception e) {
                    throw e;
                }
                return reply.cast(a);
            }

            @Override
            public long send(String node, String moveId, Path dir, ProgressListener progress) {
                trace.add("send");
                transfers.add(moveId.substring(moveId.lastIndexOf('.') + 1) + " " + dir.getFileName());
                sent.add(dir.resolve("carried.json").toFile().exists() ? "carried.json" : "no carried files");
                return 1000;
            }
        };
    }

    private SourceCopy copy() {
        return new SourceCopy() {
            @Override
            public void resume() {
                trace.add("copy resume");
            }

            @Override
            public void kill() {
                trace.add("copy kill");
            }

            @Override
            public void awaitServed(Duration limit) {
                trace.add("copy awaitServed");
            }

            @Override
            public void stopLeftServer(LongPredicate isCriu) {
                trace.add("copy stopLeftServer");
            }
        };
    }

    private SourceCell cell() {
        return new SourceCell() {
            @Override
            public void openHoldControl() {
                trace.add("cell openHoldControl");
            }

            @Override
            public void closeHoldControl() {
                trace.add("cell closeHoldControl");
            }

            @Override
            public void hold() {
                trace.add("cell hold");
            }

            @Override
            public void release() {
                trace.add("cell release");
            }

            @Override
            public void linkDown() {
                trace.add("cell linkDown");
            }

            @Override
            public void linkUp() {
                trace.add("cell linkUp");
            }

            @Override
            public long netnsInode() {
                return 4026531840L;
            }

            @Override
            public List<Long> pids() {
                return List.of();
            }

            @Override
            public List<Cell.Neighbor> neighbors() {
                return List.of();
            }

            @Override
            public int inject(List<byte[]> packets) {
                trace.add("cell inject " + packets.size());
                return packets.size();
            }
        };
    }
}
