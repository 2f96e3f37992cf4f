package io.svcmove.migrator.control;

/** A request that ends with an operator-facing message and an {@link Outcome}. */
public class ControlException extends RuntimeException {
    private final Outcome outcome;

    public ControlException(Outcome outcome, String message) {
        super(message);
        this.outcome = outcome;
    }

    public ControlException(Outcome outcome, String message, Throwable cause) {
        super(message, cause);
        this.outcome = outcome;
    }

    public Outcome outcome() {
        return outcome;
    }
}
