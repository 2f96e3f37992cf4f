package io.svcmove.dns;

/** A DNS update or query that did not succeed; the message names the cause and what to do about it. */
public final class DnsException extends Exception {
    /** What went wrong, so callers can tell bad configuration or a taken name from an outage. */
    public enum Cause {
        /** The configuration (key file, zone, server, name) is unusable; nothing was sent. */
        CONFIG,
        /** The server rejected our TSIG signature (BADKEY, BADSIG, BADTIME). */
        KEY_REJECTED,
        /** The answer was unsigned or its signature did not verify: it cannot be trusted. */
        BAD_ANSWER,
        /** No answer within the timeout, or no connection. */
        UNREACHABLE,
        /** The server is not authoritative for the zone (NOTAUTH, NOTZONE). */
        NOT_AUTHORITATIVE,
        /** The server refused the update (its policy). */
        REFUSED,
        /** The name exists and svcmove (this owner) does not own it. */
        NAME_TAKEN,
        /** Any other error code from the server. */
        SERVER_ERROR
    }

    private final Cause cause;

    public DnsException(Cause cause, String message) {
        super(message);
        this.cause = cause;
    }

    public DnsException(Cause cause, String message, Throwable reason) {
        super(message, reason);
        this.cause = cause;
    }

    public Cause reason() {
        return cause;
    }
}
