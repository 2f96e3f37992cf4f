package io.svcmove.migrator.move;

import io.svcmove.migrator.service.MoveStage;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs a move's step table: in phase order, each step's stage recorded before it acts, each phase
 * timed. Every way out goes through one decision (as CRIU's {@code cr_dump_finish}):
 * <ul>
 * <li>a failure before the point of no return ({@link MoveStage#pastNoReturn}) undoes every step
 *     done, in reverse, and the service runs where it was ({@link MoveFailedException});
 * <li>an undo that cannot tell whether it may roll back stops the rollback with the service frozen
 *     ({@link MoveUnresolvedException}); so does any failure between the point of no return and
 *     COMMITTED: the service is never killed here before the destination said it keeps it;
 * <li>from COMMITTED on, a failing step (cleanup here) is tried again a few times, then reported,
 *     never undone: a cell or image left behind would outlive the move.
 * </ul>
 * {@link #recover} runs the same table for an agent that died mid-move, from the stage it recorded.
 */
public final class MoveRunner {
    /** Records the move's stage, durably, before the step that enters it acts. */
    @FunctionalInterface
    public interface Journal {
        void enter(MoveStage stage) throws Exception;
    }

    private final MoveListener listener;
    private final Journal journal;
    private final FaultInjection faults;
    private final List<Long> retryDelaysMs;

    public MoveRunner(MoveListener listener, Journal journal, FaultInjection faults) {
        this(listener, journal, faults, List.of(100L, 500L, 2_000L));
    }

    MoveRunner(MoveListener listener, Journal journal, FaultInjection faults, List<Long> retryDelaysMs) {
        this.listener = listener;
        this.journal = journal;
        this.faults = faults;
        this.retryDelaysMs = retryDelaysMs;
    }

    /** What a move that went through took, and what its cleanup could not do. */
    public record Result(Map<Phase, Long> micros, Map<String, Long> stepMicros, List<Exception> cleanupFailures) {}

    public Result run(List<Step> steps) throws MoveFailedException, MoveUnresolvedException {
        return forward(ordered(steps), 0, null);
    }

    /**
     * Finishes a move whose agent died at {@code at}: before the point of no return, every step up to
     * and including that stage is undone (each undo copes with what was never done); after it, the
     * steps from that stage on are run (each is safe to run twice).
     */
    public Result recover(List<Step> steps, MoveStage at) throws MoveFailedException, MoveUnresolvedException {
        List<Step> table = ordered(steps);
        int first = -1;
        int last = -1;
        MoveStage s = null;
        for (int i = 0; i < table.size(); i++) {
            s = table.get(i).stage() != null ? table.get(i).stage() : s;
            if (s == at) {
                first = first < 0 ? i : first;
                last = i;
            }
        }
        if (first < 0) {
            throw new IllegalStateException("no step of this move enters stage " + at.label());
        }
        if (at.pastNoReturn()) {
            return forward(table, first, at);
        }
        return rollBack(table, last, table.get(last), new IllegalStateException("the agent stopped during the move, at stage " + at.label()), at);
    }

    private static List<Step> ordered(List<Step> steps) {
        return steps.stream().sorted((a, b) -> a.phase().compareTo(b.phase())).toList();
    }

    private Result forward(List<Step> table, int from, MoveStage stage) throws MoveFailedException, MoveUnresolvedException {
        Map<Phase, Long> timings = new EnumMap<>(Phase.class);
        Map<String, Long> stepTimings = new LinkedHashMap<>();
        List<Exception> cleanupFailures = new ArrayList<>();
        Phase current = null;
        long phaseStart = 0;
        for (int i = from; i < table.size(); i++) {
            Step step = table.get(i);
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
                listener.stepStarted(step);
                faults.at(step.id());
                if (step.stage() != null && step.stage() != stage) {
                    journal.enter(step.stage());
                    stage = step.stage();
                }
                step.action().run();
                stepTimings.put(step.id(), (System.nanoTime() - stepStart) / 1000);
            } catch (Exception e) {
                listener.stepFailed(step, e);
                // A step that enters a stage is judged by it even if recording it failed: the step
                // after a restore that succeeded is past the point of no return.
                MoveStage judged = step.stage() != null ? step.stage() : stage;
                if (judged == MoveStage.COMMITTED) {
                    MoveStage unrecorded = step.stage() != null && step.stage() != stage ? step.stage() : null;
                    stage = judged;
                    Exception last = retried(step, unrecorded, e);
                    if (last != null) {
                        cleanupFailures.add(last);
                    }
                    continue;
                }
                boolean past = judged != null && judged.pastNoReturn();
                if (past && !(e instanceof Step.DestinationLacksIt)) {
                    throw new MoveUnresolvedException(step, judged, e);
                }
                return rollBack(table, step.undoOnFailure() || past ? i : i - 1, step, e, judged);
            }
        }
        if (current != null) {
            finish(current, phaseStart, timings);
        }
        return new Result(timings, stepTimings, cleanupFailures);
    }

    /**
     * Tries a step past COMMITTED again after each delay, recording {@code unrecorded} first if its
     * first try did not get that far; what its last try threw, or null once it went through.
     */
    private Exception retried(Step step, MoveStage unrecorded, Exception first) {
        Exception last = first;
        for (long delay : retryDelaysMs) {
            try {
                Thread.sleep(delay);
                if (unrecorded != null) {
                    journal.enter(unrecorded);
                    unrecorded = null;
                }
                step.action().run();
                listener.stepRetried(step);
                return null;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return last;
            } catch (Exception e) {
                listener.stepFailed(step, e);
                last = e;
            }
        }
        return last;
    }

    private void finish(Phase phase, long start, Map<Phase, Long> timings) {
        long micros = (System.nanoTime() - start) / 1000;
        timings.put(phase, micros);
        listener.phaseDone(phase, micros);
    }

    /**
     * Undoes the steps up to {@code last}, in reverse (each undo copes with a step that was never
     * done), and records the move aborted. An undo that finds the destination has the service after
     * all turns the move forward from the point of no return instead; one that cannot tell leaves it
     * unresolved, the service frozen.
     */
    private Result rollBack(List<Step> table, int last, Step failed, Exception cause, MoveStage stage)
            throws MoveFailedException, MoveUnresolvedException {
        MoveFailedException failure = new MoveFailedException(failed.phase(), failed.id(), failed.name(), cause);
        listener.rollingBack(failed.phase());
        for (int i = last; i >= 0; i--) {
            Step s = table.get(i);
            long start = System.nanoTime();
            try {
                s.undo().run();
                listener.undone(s, (System.nanoTime() - start) / 1000);
            } catch (Step.AlreadyArrived e) {
                return forward(table, nextStaged(table, i), null);
            } catch (Step.Unresolved e) {
                throw new MoveUnresolvedException(s, stage, e);
            } catch (Exception e) {
                listener.undoFailed(s, e);
                failure.addSuppressed(e);
            }
        }
        try {
            journal.enter(MoveStage.ABORTED);
        } catch (Exception e) {
            failure.addSuppressed(e);
        }
        throw failure;
    }

    /** The first step after {@code i} that enters a stage: where a move that arrived after all goes on. */
    private static int nextStaged(List<Step> table, int i) {
        for (int j = i + 1; j < table.size(); j++) {
            if (table.get(j).stage() != null) {
                return j;
            }
        }
        throw new IllegalStateException("no stage follows step " + table.get(i).id());
    }
}
