package io.svcmove.migrator.move;

import io.svcmove.migrator.control.Outcome;

/**
 * What the move engine tells the agent's metrics: how each move asked of this node (as its source)
 * ended, and what a completed one took. The engine calls these two points only.
 */
public interface MoveMetrics {
    /**
     * A move from here ended with {@code outcome}; {@code mode} is the one it ran in (eager, lazy), or,
     * for a move refused before one was chosen, the one asked for (eager, lazy, auto).
     */
    void ended(String mode, Outcome outcome);

    /** A move from here ran its whole step table: its freeze, its phases and the bytes of its images. */
    void completed(OutgoingMove.Report report);
}
