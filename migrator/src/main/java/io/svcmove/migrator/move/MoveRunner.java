package io.svcmove.migrator.move;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs a move's steps in phase order, times each phase, and on a failure undoes every step already
 * done, in reverse. The first step of the COMMIT phase (or an earlier {@link Step#committing} one) is the point of no return: once it succeeded
 * the move stands, and a later step that fails (cleanup on the source) is reported, not undone.
 */
public final class MoveRunner {
    private final MoveListener listener;

    public MoveRunner(MoveListener listener) {
        this.listener = listener;
    }

    /** What a move that went through took, and what its cleanup could not do. */
    public record Result(Map<Phase, Long> micros, Map<String, Long> stepMicros, List<Exception> cleanupFailures) {}

    public Result run(List<Step> steps) throws MoveFailedException {
        List<Step> ordered = steps.stream().sorted((a, b) -> a.phase().compareTo(b.phase())).toList();
        Map<Phase, Long> timings = new EnumMap<>(Phase.class);
        Map<String, Long> stepTimings = new LinkedHashMap<>();
        List<Exception> cleanupFailures = new ArrayList<>();
        Deque<Step> done = new ArrayDeque<>();
        boolean committed = false;
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
            long stepStart = System.nanoTime();
            try {
                step.action().run();
                stepTimings.put(step.name(), (System.nanoTime() - stepStart) / 1000);
                done.push(step);
                committed |= step.phase() == Phase.COMMIT || step.undo() == Step.NO_RETURN;
            } catch (Exception e) {
                listener.stepFailed(step, e);
                if (committed) {
                    cleanupFailures.add(e);
                    continue;
                }
                throw rollBack(step, e, done);
            }
        }
        if (current != null) {
            finish(current, phaseStart, timings);
        }
        return new Result(timings, stepTimings, cleanupFailures);
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
