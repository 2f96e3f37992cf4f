package io.svcmove.migrator.move;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * Runs a move's steps in phase order, times each phase, and on a failure before commit undoes
 * every step already done, in reverse. Steps of the COMMIT phase are past the point of no return:
 * they are not undone, and a failure there is the caller's to report.
 */
public final class MoveRunner {
    private final MoveListener listener;

    public MoveRunner(MoveListener listener) {
        this.listener = listener;
    }

    /** Returns each phase's duration in microseconds. */
    public Map<Phase, Long> run(List<Step> steps) throws MoveFailedException {
        List<Step> ordered = steps.stream().sorted((a, b) -> a.phase().compareTo(b.phase())).toList();
        Map<Phase, Long> timings = new EnumMap<>(Phase.class);
        Deque<Step> done = new ArrayDeque<>();
        Phase current = null;
        long phaseStart = 0;
        for (Step step : ordered) {
            if (step.phase() != current) {
                if (current != null) {
                    finish(current, phaseStart, timings);
                }
                current = step.phase();
                phaseStart = System.nanoTime();
                listener.phaseStarted(current);
            }
            try {
                step.action().run();
                done.push(step);
            } catch (Exception e) {
                if (step.phase() == Phase.COMMIT) {
                    throw new IllegalStateException("commit step '" + step.name() + "' failed after the point of no return", e);
                }
                listener.stepFailed(step, e);
                throw rollBack(step, e, done);
            }
        }
        if (current != null) {
            finish(current, phaseStart, timings);
        }
        return timings;
    }

    private void finish(Phase phase, long start, Map<Phase, Long> timings) {
        long micros = (System.nanoTime() - start) / 1000;
        timings.put(phase, micros);
        listener.phaseDone(phase, micros);
    }

    private MoveFailedException rollBack(Step failed, Exception cause, Deque<Step> done) {
        MoveFailedException failure = new MoveFailedException(failed.phase(), failed.name(), cause);
        listener.rollingBack(failed.phase());
        while (!done.isEmpty()) {
            Step s = done.pop();
            long start = System.nanoTime();
            try {
                s.undo().run();
                listener.undone(s, (System.nanoTime() - start) / 1000);
            } catch (Exception e) {
                listener.undoFailed(s, e);
                failure.addSuppressed(e);
            }
        }
        return failure;
    }
}
