package io.svcmove.migrator.move;

/** Sees a move as it happens: the CLI's progress, the agent's log, --json. */
public interface MoveListener {
    default void phaseStarted(Phase phase) {}

    default void phaseDone(Phase phase, long micros) {}

    default void stepFailed(Step step, Exception cause) {}

    default void rollingBack(Phase failedIn) {}

    default void undone(Step step, long micros) {}

    default void undoFailed(Step step, Exception cause) {}

    /** CRIU reached one of its own phases (network-lock, post-dump, ...). */
    default void criu(String script) {}

    /** Bytes of the images sent so far, of the total. */
    default void transferred(long sent, long total) {}
}
