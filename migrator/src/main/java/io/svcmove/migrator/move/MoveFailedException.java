package io.svcmove.migrator.move;

/**
 * A move that failed before commit. Every step done was undone in reverse; failures of the undo
 * itself ride along as suppressed exceptions, so none is lost.
 */
public final class MoveFailedException extends Exception {
    private final Phase phase;
    private final String step;

    MoveFailedException(Phase phase, String step, Exception cause) {
        super(cause.getMessage(), cause);
        this.phase = phase;
        this.step = step;
    }

    public Phase phase() {
        return phase;
    }

    public String step() {
        return step;
    }

    /** Whether the rollback itself went wrong somewhere (then the service's state needs a look). */
    public boolean rollbackIncomplete() {
        return getSuppressed().length > 0;
    }
}
