package io.svcmove.migrator.move;

/** Sees a move as it happens: the CLI's progress, the agent's log, --json. */
public interface MoveListener {
    default void phaseStarted(Phase phase) {}

    /**
     * The move is at the boundary before {@code step} (where a fault can be injected): `svcmove moves`
     * shows it. An exception thrown here fails the move at that step, as the step's own would (a cancel).
     */
    default void stepStarted(Step step) {}

    default void phaseDone(Phase phase, long micros) {}

    default void stepFailed(Step step, Exception cause) {}

    /** A step past COMMITTED that had failed went through when tried again. */
    default void stepRetried(Step step) {}

    default void rollingBack(Phase failedIn) {}

    default void undone(Step step, long micros) {}

    default void undoFailed(Step step, Exception cause) {}

    /** CRIU reached one of its own phases (network-lock, post-dump, ...). */
    default void criu(String script) {}

    /** Bytes of the images sent so far, of the total. */
    default void transferred(long sent, long total) {}

    /** A pre-copy round was dumped and sent. An exception thrown here fails the pre-copy step (a cancel), as at a boundary. */
    default void precopyRound(OutgoingMove.Round round) {}

    /** Both listeners, {@code first} told first. */
    static MoveListener both(MoveListener first, MoveListener second) {
        return new MoveListener() {
            @Override
            public void phaseStarted(Phase phase) {
                first.phaseStarted(phase);
                second.phaseStarted(phase);
            }

            @Override
            public void stepStarted(Step step) {
                first.stepStarted(step);
                second.stepStarted(step);
            }

            @Override
            public void phaseDone(Phase phase, long micros) {
                first.phaseDone(phase, micros);
                second.phaseDone(phase, micros);
            }

            @Override
            public void stepFailed(Step step, Exception cause) {
                first.stepFailed(step, cause);
                second.stepFailed(step, cause);
            }

            @Override
            public void stepRetried(Step step) {
                first.stepRetried(step);
                second.stepRetried(step);
            }

            @Override
            public void rollingBack(Phase failedIn) {
                first.rollingBack(failedIn);
                second.rollingBack(failedIn);
            }

            @Override
            public void undone(Step step, long micros) {
                first.undone(step, micros);
                second.undone(step, micros);
            }

            @Override
            public void undoFailed(Step step, Exception cause) {
                first.undoFailed(step, cause);
                second.undoFailed(step, cause);
            }

            @Override
            public void criu(String script) {
                first.criu(script);
                second.criu(script);
            }

            @Override
            public void transferred(long sent, long total) {
                first.transferred(sent, total);
                second.transferred(sent, total);
            }

            @Override
            public void precopyRound(OutgoingMove.Round round) {
                first.precopyRound(round);
                second.precopyRound(round);
            }
        };
    }
}
