package io.svcmove.migrator.move;

/**
 * A move that failed and was rolled back: every step done was undone in reverse, and the service
 * runs where it was. Failures of the undo itself ride along as suppressed exceptions, so none is lost.
 */
public final class MoveFailedException extends Exception {
    private final Phase phase;
    private final String stepId;
    private final String step;

    MoveFailedException(Phase phase, String stepId, String step, Exception cause) {
        super(cause.getMessage(), cause);
        this.phase = phase;
        this.stepId = stepId;
        this.step = step;
    }

    public Phase phase() {
        return phase;
    }

    /** The boundary (step id) where it failed. */
    public String stepId() {
        return stepId;
    }

    public String step() {
        return step;
    }

    /** Whether the rollback itself went wrong somewhere (then the service's state needs a look). */
    public boolean rollbackIncomplete() {
        return getSuppressed().length > 0;
    }
}
