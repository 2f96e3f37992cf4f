package io.svcmove.migrator.move;

/** Sees a move as it happens: the CLI's progress, the agent's log, --json. */
public interface MoveListener {
    default void phaseStarted(Phase phase) {}

    default void phaseDone(Phase phase, long micros) {}

    default void stepFailed(Step step, Exception cause) {}

    default void rollingBack(Phase failedIn) {}

    default void undone(Step step, long micros) {}

    default void undoFailed(Step step, Exception cause) {}
}
