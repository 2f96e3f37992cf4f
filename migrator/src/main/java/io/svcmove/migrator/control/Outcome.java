package io.svcmove.migrator.control;

/**
 * How a request ended, and the exit code the CLI gives for it, so scripts can tell a refused
 * request (nothing changed) from a failure.
 */
public enum Outcome {
    OK(0),
    /** The work failed part-way; what was made was undone. */
    FAILED(1),
    /** The command line is wrong. */
    USAGE(2),
    /** Refused before anything changed: bad input, a name or VIP in use, a check that failed. */
    REFUSED(3),
    /** A move failed after the freeze and was rolled back: the service runs where it was. */
    ROLLED_BACK(4),
    /** No such service or node. */
    NOT_FOUND(5),
    /**
     * A move whose end this node cannot know yet (the destination stopped answering where only it can
     * tell): the service is frozen on the source and may run on the destination; the agents settle
     * it, on exactly one node, when they can talk again.
     */
    UNKNOWN(6),
    /** The agent (or a peer) could not be reached. */
    UNAVAILABLE(69),
    /** A bug: the agent or CLI met something it did not expect. */
    INTERNAL(70),
    /** Not root. */
    NO_PERMISSION(77);

    public final int exitCode;

    Outcome(int exitCode) {
        this.exitCode = exitCode;
    }
}
