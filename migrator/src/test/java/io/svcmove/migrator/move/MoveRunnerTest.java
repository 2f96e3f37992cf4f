package io.svcmove.migrator.move;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.svcmove.migrator.service.MoveStage;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The step table's one exit: rollback, the point of no return, unresolved outcomes, recovery from a stage. */
class MoveRunnerTest {
    private final List<String> trace = new ArrayList<>();
    private final MoveRunner runner = new MoveRunner(new MoveListener() {
        @Override
        public void phaseStarted(Phase phase) {
            trace.add("start " + phase.label());
        }

        @Override
        public void stepRetried(Step step) {
            trace.add("retried " + step.id());
        }
    }, stage -> trace.add("stage " + stage.label()), FaultInjection.OFF, List.of(1L, 1L, 1L));

    private Step step(Phase p, String name) {
        return Step.undoable(p, name, name, () -> trace.add("do " + name), () -> trace.add("undo " + name));
    }

    private static Step failing(Phase p, String name, Exception e) {
        return Step.of(p, name, name, () -> {
            throw e;
        });
    }

    /** A small move: prepare, freeze, restore (the peer's answer decides), then past the point of no return. */
    private List<Step> move(Step restore, Step commit) {
        return List.of(step(Phase.PREPARE, "cell").entering(MoveStage.PREPARED), step(Phase.FREEZE, "dump").entering(MoveStage.FROZEN),
                restore.entering(MoveStage.RESTORING), step(Phase.ANNOUNCE, "announce").entering(MoveStage.ARRIVED), commit,
                step(Phase.COMMIT, "kill copy").entering(MoveStage.COMMITTED));
    }

    @Test
    void runsStepsInPhaseOrderAndTimesEveryPhase() throws Exception {
        Map<Phase, Long> t = runner.run(List.of(step(Phase.RESTORE, "restore"), step(Phase.PREPARE, "cell"),
                step(Phase.FREEZE, "dump"), step(Phase.PREPARE, "check"))).micros();
        assertEquals(List.of("start prepare", "do cell", "do check", "start freeze", "do dump", "start restore", "do restore"), trace);
        assertEquals(List.of(Phase.PREPARE, Phase.FREEZE, Phase.RESTORE), List.copyOf(t.keySet()));
    }

    @Test
    void eachStageIsRecordedBeforeItsStepActs() throws Exception {
        runner.run(move(step(Phase.RESTORE, "restore"), step(Phase.COMMIT, "commit")));
        assertEquals(List.of("start prepare", "stage prepared", "do cell", "start freeze", "stage frozen", "do dump", "start restore",
                "stage restoring", "do restore", "start announce", "stage arrived", "do announce", "start commit", "do commit",
                "stage committed", "do kill copy"), trace);
    }

    @Test
    void failureUndoesWhatWasDoneInReverseAndRecordsTheAbort() {
        MoveFailedException e = assertThrows(MoveFailedException.class, () -> runner.run(List.of(
                step(Phase.PREPARE, "cell"), step(Phase.FREEZE, "hold"), step(Phase.FREEZE, "dump"),
                failing(Phase.TRANSFER, "send", new IllegalStateException("peer gone")), step(Phase.RESTORE, "restore"))));
        assertEquals(Phase.TRANSFER, e.phase());
        assertEquals("peer gone", e.getMessage());
        assertEquals(List.of("start prepare", "do cell", "start freeze", "do hold", "do dump", "start transfer",
                "undo dump", "undo hold", "undo cell", "stage aborted"), trace);
    }

    @Test
    void aStepWhoseAnswerWasLostIsUndoneToo() {
        Step restore = Step.undoable(Phase.RESTORE, "restore", "restore", () -> {
            throw new IllegalStateException("timed out");
        }, () -> trace.add("undo restore")).alsoUndoneIfItFails();
        assertThrows(MoveFailedException.class, () -> runner.run(move(restore, step(Phase.COMMIT, "commit"))));
        assertTrue(trace.indexOf("undo restore") < trace.indexOf("undo dump"), trace.toString());
    }

    @Test
    void aFailingUndoIsKeptAndTheRestStillRuns() {
        Step badUndo = Step.undoable(Phase.FREEZE, "dump", "dump", () -> trace.add("do dump"), () -> {
            throw new IllegalStateException("cannot resume");
        });
        MoveFailedException e = assertThrows(MoveFailedException.class, () -> runner.run(List.of(step(Phase.PREPARE, "cell"), badUndo,
                failing(Phase.TRANSFER, "send", new IllegalStateException("peer gone")))));
        assertTrue(e.rollbackIncomplete());
        assertEquals("cannot resume", e.getSuppressed()[0].getMessage());
        assertTrue(trace.contains("undo cell"));
    }

    @Test
    void anUndoThatCannotTellStopsTheRollbackWithTheServiceFrozen() {
        Step restore = Step.undoable(Phase.RESTORE, "restore", "restore", () -> {
            throw new IllegalStateException("timed out");
        }, () -> {
            throw new Step.Unresolved("no answer", null);
        }).alsoUndoneIfItFails();
        MoveUnresolvedException e = assertThrows(MoveUnresolvedException.class,
                () -> runner.run(move(restore, step(Phase.COMMIT, "commit"))));
        assertEquals(MoveStage.RESTORING, e.stage());
        assertTrue(!trace.contains("undo dump") && !trace.contains("stage aborted"), trace.toString());
    }

    @Test
    void aRestoreThatArrivedAfterAllGoesForward() throws Exception {
        Step restore = Step.undoable(Phase.RESTORE, "restore", "restore", () -> {
            throw new IllegalStateException("timed out");
        }, () -> {
            throw new Step.AlreadyArrived("it has it");
        }).alsoUndoneIfItFails();
        runner.run(move(restore, step(Phase.COMMIT, "commit")));
        assertTrue(trace.containsAll(List.of("stage arrived", "do commit", "do kill copy")), trace.toString());
        assertTrue(!trace.contains("undo dump"), trace.toString());
    }

    @Test
    void pastThePointOfNoReturnAFailedCommitKillsNothing() {
        MoveUnresolvedException e = assertThrows(MoveUnresolvedException.class, () -> runner.run(move(step(Phase.RESTORE, "restore"),
                failing(Phase.COMMIT, "commit", new IllegalStateException("connection reset")))));
        assertEquals(MoveStage.ARRIVED, e.stage());
        assertTrue(!trace.contains("do kill copy") && !trace.contains("undo dump"), trace.toString());
    }

    @Test
    void aDestinationWithoutACopyLetsTheSourceResume() {
        assertThrows(MoveFailedException.class, () -> runner.run(move(step(Phase.RESTORE, "restore"),
                failing(Phase.COMMIT, "commit", new Step.DestinationLacksIt("lost it")))));
        assertTrue(trace.containsAll(List.of("undo announce", "undo restore", "undo dump", "stage aborted")), trace.toString());
    }

    @Test
    void fromCommittedOnFailuresAreReportedNotUndone() throws Exception {
        MoveRunner.Result o = runner.run(List.of(step(Phase.RESTORE, "restore"), step(Phase.COMMIT, "commit"),
                failing(Phase.COMMIT, "cleanup", new IllegalStateException("disk full")).entering(MoveStage.COMMITTED),
                step(Phase.COMMIT, "forget")));
        assertTrue(trace.contains("do forget"), trace.toString());
        assertEquals("disk full", o.cleanupFailures().get(0).getMessage());
    }

    @Test
    void aCleanupThatFailsOnceGoesThroughWhenTriedAgain() throws Exception {
        int[] tries = {0};
        Step removeCell = Step.of(Phase.COMMIT, "remove-cell", "remove cell", () -> {
            if (tries[0]++ == 0) {
                throw new IllegalStateException("device busy");
            }
            trace.add("do remove-cell");
        });
        MoveRunner.Result o = runner.run(List.of(step(Phase.COMMIT, "kill").entering(MoveStage.COMMITTED), removeCell,
                step(Phase.COMMIT, "forget")));
        assertEquals(List.of("start commit", "stage committed", "do kill", "do remove-cell", "retried remove-cell", "do forget"), trace);
        assertEquals(List.of(), o.cleanupFailures());
    }

    @Test
    void aStepThatEntersCommittedIsRecordedOnceThoughTriedAgain() throws Exception {
        int[] tries = {0};
        Step kill = Step.of(Phase.COMMIT, "kill", "kill", () -> {
            if (tries[0]++ == 0) {
                throw new IllegalStateException("busy");
            }
            trace.add("do kill");
        }).entering(MoveStage.COMMITTED);
        MoveRunner.Result o = runner.run(List.of(step(Phase.COMMIT, "commit").entering(MoveStage.ARRIVED), kill));
        assertEquals(List.of("start commit", "stage arrived", "do commit", "stage committed", "do kill", "retried kill"), trace);
        assertEquals(List.of(), o.cleanupFailures());
    }

    @Test
    void aCleanupThatKeepsFailingIsTriedFourTimesThenReported() throws Exception {
        int[] tries = {0};
        MoveRunner.Result o = runner.run(List.of(step(Phase.COMMIT, "kill").entering(MoveStage.COMMITTED),
                Step.of(Phase.COMMIT, "remove-cell", "remove cell", () -> {
                    throw new IllegalStateException("try " + ++tries[0]);
                }), step(Phase.COMMIT, "forget")));
        assertEquals(4, tries[0]);
        assertEquals("try 4", o.cleanupFailures().get(0).getMessage());
        assertTrue(trace.contains("do forget"), trace.toString());
    }

    @Test
    void recoveryBeforeThePointOfNoReturnUndoesUpToTheRecordedStage() {
        assertThrows(MoveFailedException.class, () -> runner.recover(move(step(Phase.RESTORE, "restore"), step(Phase.COMMIT, "commit")),
                MoveStage.FROZEN));
        assertEquals(List.of("undo dump", "undo cell", "stage aborted"), trace);
    }

    @Test
    void recoveryAfterItRunsTheRestFromTheRecordedStage() throws Exception {
        runner.recover(move(step(Phase.RESTORE, "restore"), step(Phase.COMMIT, "commit")), MoveStage.ARRIVED);
        assertEquals(List.of("start announce", "do announce", "start commit", "do commit", "stage committed", "do kill copy"), trace);
    }

    @Test
    void stagesOnlyGoWhereTheTableAllows() {
        assertEquals(MoveStage.ARRIVED, MoveStage.RESTORING.to(MoveStage.ARRIVED));
        assertThrows(IllegalStateException.class, () -> MoveStage.COMMITTED.to(MoveStage.ABORTED));
        assertThrows(IllegalStateException.class, () -> MoveStage.PREPARED.to(MoveStage.ARRIVED));
        assertEquals(MoveStage.HANDED_OVER, MoveStage.RESTORING.to(MoveStage.HANDED_OVER));
        assertEquals(MoveStage.HANDED_OVER, MoveStage.of("handed-over"));
    }
}
