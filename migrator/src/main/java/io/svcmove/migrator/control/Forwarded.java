package io.svcmove.migrator.control;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * How a request forwarded to a peer's agent (a move, a recovery, a cancel) ended: its report, or
 * the outcome and message of one that did not go through, so that the CLI's exit code survives
 * the forwarding. A peer message (snake_case on the wire).
 */
public record Forwarded(boolean ok, JsonNode report, Outcome outcome, String message) {

    public static Forwarded done(JsonNode report) {
        return new Forwarded(true, report, null, null);
    }

    public static Forwarded failed(Outcome outcome, String message) {
        return new Forwarded(false, null, outcome, message);
    }

    public static Forwarded failed(ControlException e) {
        return failed(e.outcome(), e.getMessage());
    }

    /** The report, or the failure thrown again here as it was there. */
    public JsonNode reportOrThrow() {
        if (!ok) {
            throw new ControlException(outcome == null ? Outcome.FAILED : outcome, message);
        }
        return report;
    }
}
