package io.svcmove.testbed;

import java.util.List;

/** What a command run on the bed did. A command killed at its timeout has {@code timedOut} set. */
public record ExecResult(List<String> command, int exitCode, String stdout, String stderr, boolean timedOut) {

    public boolean ok() {
        return exitCode == 0 && !timedOut;
    }

    /** This result if the command succeeded; otherwise an error that shows what ran and what it said. */
    public ExecResult requireOk() {
        if (!ok()) {
            throw new IllegalStateException(describe());
        }
        return this;
    }

    public String describe() {
        return String.join(" ", command)
                + (timedOut ? " timed out and was killed" : " exited with " + exitCode)
                + "\n--- stdout\n" + stdout + "--- stderr\n" + stderr;
    }
}
