package io.svcmove.migrator.move;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.svcmove.migrator.service.MoveStage;
import io.svcmove.migrator.service.ServiceRecord.MoveInFlight;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** What `svcmove moves` lists of a move, seen through the step table's runner as a live move is. */
class MovesInFlightTest {
    private Instant now = Instant.parse("2026-01-01T00:00:00Z");
    private final Clock clock = new Clock() {
        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    };
    private final MovesInFlight inFlight = new MovesInFlight(clock);
    private final List<MovesInFlight.Listed> seen = new ArrayList<>();
    private Map<String, MoveInFlight> recorded = Map.of();

    /** A step that, when it acts, lets {@code ms} pass and takes what is listed. */
    private Step looking(Phase p, String id, long ms) {
        return Step.of(p, id, id, () -> {
            now = now.plusMillis(ms);
            seen.addAll(inFlight.list(recorded, "n1"));
        });
    }

    private MoveRunner runner(MoveListener listener) {
        return new MoveRunner(listener, stage -> recorded = Map.of("web", new MoveInFlight("web-1", "n2", stage, false)),
                FaultInjection.OFF);
    }

    @Test
    void aRunningMoveIsListedAtItsPhaseStepAndStageWithItsAge() throws Exception {
        MovesInFlight.Entry e = inFlight.begin("web", "n1", "n2", "auto").orElseThrow();
        assertEquals(List.of(new MovesInFlight.Listed("web", null, "n1", "n2", "auto", "starting", null, null, null, null, 0L)),
                inFlight.list(recorded, "n1"));
        e.mode("eager");
        runner(e).run(List.of(looking(Phase.PREPARE, "prepare", 200).entering(MoveStage.PREPARED),
                looking(Phase.FREEZE, "dump", 1300).entering(MoveStage.FROZEN)));
        assertEquals(new MovesInFlight.Listed("web", "web-1", "n1", "n2", "eager", "prepare", "prepare", "prepared", null, null, 200L),
                seen.get(0));
        assertEquals(new MovesInFlight.Listed("web", "web-1", "n1", "n2", "eager", "freeze", "dump", "frozen", null, null, 1500L),
                seen.get(1));
        e.end();
        recorded = Map.of();
        assertEquals(List.of(), inFlight.list(recorded, "n1"), "a move that ended is not listed");
    }

    @Test
    void aCancelDuringPreCopyActsAfterTheRoundUnderWayAndRollsBack() {
        MovesInFlight.Entry e = inFlight.begin("web", "n1", "n2", "precopy").orElseThrow();
        OutgoingMove.Round round = new OutgoingMove.Round(1, 65_536, 1L << 28, 4_000_000);
        List<String> rounds = new ArrayList<>();
        Step precopy = Step.of(Phase.PRECOPY, "pre-dump", "pre-dump rounds", () -> {
            e.precopyRound(round);
            rounds.add("round 1");
            assertEquals(Optional.empty(), e.cancel("'svcmove cancel' on n3"), "the service still runs: it can be cancelled");
            e.precopyRound(round);
            rounds.add("round 2");
        });
        MoveFailedException failed = assertThrows(MoveFailedException.class, () -> runner(e).run(List.of(
                looking(Phase.PREPARE, "prepare", 10).entering(MoveStage.PREPARED), precopy,
                looking(Phase.FREEZE, "hold", 10).entering(MoveStage.FROZEN))));
        assertEquals("pre-dump", failed.stepId());
        assertEquals(List.of("round 1"), rounds, "no round after the cancel");
        assertTrue(failed.getCause().getMessage().contains("cancelled by 'svcmove cancel' on n3, after pre-copy round 1"),
                failed.getCause().getMessage());
        e.end();
    }

    @Test
    void theTransferShowsItsProgress() throws Exception {
        MovesInFlight.Entry e = inFlight.begin("web", "n1", "n2", "eager").orElseThrow();
        runner(e).run(List.of(Step.of(Phase.TRANSFER, "transfer", "images", () -> {
            e.transferred(3 << 20, 8 << 20);
            seen.addAll(inFlight.list(recorded, "n1"));
        })));
        assertEquals(3L << 20, seen.get(0).sentBytes());
        assertEquals(8L << 20, seen.get(0).totalBytes());
        assertEquals("transfer", seen.get(0).phase());
    }

    @Test
    void aFailedMoveIsListedAsRollbackUntilItEnds() {
        MovesInFlight.Entry e = inFlight.begin("web", "n1", "n2", "eager").orElseThrow();
        Step hold = Step.undoable(Phase.FREEZE, "hold", "hold", Step.NOTHING, Step.NOTHING).entering(MoveStage.FROZEN);
        Step dump = Step.undoable(Phase.FREEZE, "dump", "dump", Step.NOTHING, () -> seen.addAll(inFlight.list(recorded, "n1")));
        Step restore = Step.of(Phase.RESTORE, "restore", "restore", () -> {
            throw new IllegalStateException("no");
        });
        assertThrows(MoveFailedException.class, () -> runner(e).run(List.of(hold, dump, restore)));
        assertEquals("rollback", seen.get(0).phase(), "while the steps done are undone: " + seen);
        assertEquals("frozen", seen.get(0).stage());
        e.end();
        assertEquals(List.of(), inFlight.list(Map.of(), "n1"));
    }

    @Test
    void aMoveOnlyRecordedIsListedUnresolvedWithoutAge() {
        List<MovesInFlight.Listed> l = inFlight.list(Map.of("db", new MoveInFlight("db-7", "n3", MoveStage.RESTORING, true)), "n1");
        assertEquals(List.of(new MovesInFlight.Listed("db", "db-7", "n1", "n3", "lazy", "unresolved", null, "restoring", null, null,
                null)), l);
    }

    @Test
    void aSecondMoveOfAServiceUnderWayIsNotBegunAndTheFirstStaysListed() {
        MovesInFlight.Entry first = inFlight.begin("web", "n1", "n2", "eager").orElseThrow();
        now = now.plus(Duration.ofSeconds(5));
        assertEquals(Optional.empty(), inFlight.begin("web", "n1", "n3", "eager"));
        List<MovesInFlight.Listed> l = inFlight.list(Map.of(), "n1");
        assertEquals(1, l.size());
        assertEquals("n2", l.get(0).to(), "the first one, which a cancel still reaches");
        first.end();
        assertTrue(inFlight.begin("web", "n1", "n3", "eager").isPresent(), "once it ended, the next one begins");
        assertEquals("n3", inFlight.list(Map.of(), "n1").get(0).to());
    }

    @Test
    void aCancelAskedBeforeTheStepTableActsBeforeIt() {
        MovesInFlight.Entry e = inFlight.begin("web", "n1", "n2", "eager").orElseThrow();
        e.cancelIfAsked("before the pre-prepare hooks");
        assertEquals(Optional.empty(), e.cancel("Ctrl-C on 'svcmove move' on n3"), "taken while the move is starting");
        assertEquals("starting", e.at());
        MovesInFlight.Cancelled c = assertThrows(MovesInFlight.Cancelled.class, () -> e.cancelIfAsked("before the pre-prepare hooks"));
        assertEquals("cancelled by Ctrl-C on 'svcmove move' on n3, before the pre-prepare hooks", c.getMessage());
    }

    /** The steps of a small move: the cancel asked while {@code askedIn} acts; what was done and undone goes to the trace. */
    private List<Step> cancelledIn(String askedIn, MovesInFlight.Entry e, List<String> trace, List<Optional<String>> answers) {
        List<Step> steps = new ArrayList<>();
        String[][] table = {{"PREPARE", "prepare", "PREPARED"}, {"FREEZE", "dump", "FROZEN"}, {"TRANSFER", "transfer", null},
                {"RESTORE", "restore", "RESTORING"}, {"ANNOUNCE", "link-down", "ARRIVED"}, {"COMMIT", "kill-copy", "COMMITTED"}};
        for (String[] row : table) {
            Step s = Step.undoable(Phase.valueOf(row[0]), row[1], row[1], () -> {
                trace.add("do " + row[1]);
                if (row[1].equals(askedIn)) {
                    answers.add(e.cancel("n3"));
                }
            }, () -> trace.add("undo " + row[1]));
            steps.add(row[2] == null ? s : s.entering(MoveStage.valueOf(row[2])));
        }
        return steps;
    }

    @Test
    void aCancelBeforeTheRestoreRollsTheMoveBackAtTheNextStep() {
        MovesInFlight.Entry e = inFlight.begin("web", "n1", "n2", "eager").orElseThrow();
        List<String> trace = new ArrayList<>();
        List<Optional<String>> answers = new ArrayList<>();
        MoveFailedException f = assertThrows(MoveFailedException.class, () -> runner(e).run(cancelledIn("dump", e, trace, answers)));
        assertEquals(List.of(Optional.empty()), answers, "the cancel was taken");
        assertEquals(List.of("do prepare", "do dump", "undo dump", "undo prepare"), trace);
        assertEquals("transfer", f.step(), "it stopped at the next boundary");
        assertTrue(f.getCause() instanceof MovesInFlight.Cancelled && f.getMessage().contains("n3"), f.getMessage());
        assertEquals(MoveStage.ABORTED, recorded.get("web").stage(), "recorded aborted, as a failed move is");
    }

    @Test
    void aCancelBeforeTheFirstStepUndoesThePrepare() {
        MovesInFlight.Entry e = inFlight.begin("web", "n1", "n2", "eager").orElseThrow();
        assertEquals(Optional.empty(), e.cancel("n1"));
        List<String> trace = new ArrayList<>();
        assertThrows(MoveFailedException.class, () -> runner(e).run(cancelledIn("none", e, trace, new ArrayList<>())));
        assertEquals(List.of(), trace, "nothing was done, so nothing to undo");
    }

    @Test
    void aCancelFromTheRestoreOnIsRefusedAndTheMoveGoesThrough() throws Exception {
        for (String at : List.of("restore", "link-down")) {
            MovesInFlight.Entry e = inFlight.begin("web", "n1", "n2", "eager").orElseThrow();
            List<String> trace = new ArrayList<>();
            List<Optional<String>> answers = new ArrayList<>();
            runner(e).run(cancelledIn(at, e, trace, answers));
            assertTrue(answers.get(0).isPresent() && answers.get(0).get().contains("can no longer be rolled back"),
                    "cancel during " + at + ": " + answers);
            assertEquals("do kill-copy", trace.get(trace.size() - 1), "the move went through: " + trace);
            e.end();
        }
    }
}
