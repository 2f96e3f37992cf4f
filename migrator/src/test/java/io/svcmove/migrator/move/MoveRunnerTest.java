package io.svcmove.migrator.move;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MoveRunnerTest {
    private final List<String> trace = new ArrayList<>();
    private final MoveRunner runner = new MoveRunner(new MoveListener() {
        @Override
        public void phaseStarted(Phase phase) {
            trace.add("start " + phase.label());
        }
    });

    private Step step(Phase p, String name) {
        return Step.undoable(p, name, () -> trace.add("do " + name), () -> trace.add("undo " + name));
    }

    @Test
    void runsStepsInPhaseOrderAndTimesEveryPhase() throws Exception {
        Map<Phase, Long> t = runner.run(List.of(step(Phase.RESTORE, "restore"), step(Phase.PREPARE, "cell"),
                step(Phase.FREEZE, "dump"), step(Phase.PREPARE, "check"))).micros();
        assertEquals(List.of("start prepare", "do cell", "do check", "start freeze", "do dump", "start restore", "do restore"), trace);
        assertEquals(List.of(Phase.PREPARE, Phase.FREEZE, Phase.RESTORE), List.copyOf(t.keySet()));
    }

    @Test
    void failureUndoesWhatWasDoneInReverseAndNothingElse() {
        Step boom = Step.undoable(Phase.TRANSFER, "send", () -> {
            throw new IllegalStateException("peer gone");
        }, () -> trace.add("undo send"));
        MoveFailedException e = assertThrows(MoveFailedException.class, () -> runner.run(List.of(
                step(Phase.PREPARE, "cell"), step(Phase.FREEZE, "hold"), step(Phase.FREEZE, "dump"), boom, step(Phase.RESTORE, "restore"))));
        assertEquals(Phase.TRANSFER, e.phase());
        assertEquals("peer gone", e.getMessage());
        assertEquals(List.of("start prepare", "do cell", "start freeze", "do hold", "do dump", "start transfer",
                "undo dump", "undo hold", "undo cell"), trace);
    }

    @Test
    void aFailingUndoIsKeptAndTheRestStillRuns() {
        Step badUndo = Step.undoable(Phase.FREEZE, "dump", () -> trace.add("do dump"), () -> {
            throw new IllegalStateException("cannot resume");
        });
        MoveFailedException e = assertThrows(MoveFailedException.class, () -> runner.run(List.of(step(Phase.PREPARE, "cell"), badUndo,
                Step.of(Phase.TRANSFER, "send", () -> {
                    throw new IllegalStateException("peer gone");
                }))));
        assertTrue(e.rollbackIncomplete());
        assertEquals("cannot resume", e.getSuppressed()[0].getMessage());
        assertTrue(trace.contains("undo cell"));
    }

    @Test
    void aFailingCommitPointRollsBack() {
        assertThrows(MoveFailedException.class, () -> runner.run(List.of(step(Phase.RESTORE, "restore"),
                Step.of(Phase.COMMIT, "destination keeps", () -> {
                    throw new IllegalStateException("peer gone");
                }))));
        assertEquals(List.of("start restore", "do restore", "start commit", "undo restore"), trace);
    }

    @Test
    void afterTheCommitPointFailuresAreReportedNotUndone() throws Exception {
        MoveRunner.Result o = runner.run(List.of(step(Phase.RESTORE, "restore"), step(Phase.COMMIT, "destination keeps"),
                Step.of(Phase.COMMIT, "source cleanup", () -> {
                    throw new IllegalStateException("disk full");
                }), step(Phase.COMMIT, "forget")));
        assertEquals(List.of("start restore", "do restore", "start commit", "do destination keeps", "do forget"), trace);
        assertEquals("disk full", o.cleanupFailures().get(0).getMessage());
    }
}
