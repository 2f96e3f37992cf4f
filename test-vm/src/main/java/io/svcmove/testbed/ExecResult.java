package io.svcmove.testbed;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.List;

/** What a command run on the bed did. A command killed at its timeout has {@code timedOut} set. */
public record ExecResult(List<String> command, int exitCode, String stdout, String stderr, boolean timedOut) {
    private static final ObjectMapper JSON = new ObjectMapper();

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

    /** What the command printed on stdout, as JSON (a --json call); a test failure showing the call when it is not JSON. */
    public JsonNode json() {
        try {
            return JSON.readTree(stdout);
        } catch (IOException e) {
            throw new AssertionError("expected JSON on stdout of:\n" + describe(), e);
        }
    }

    public String describe() {
        return String.join(" ", command)
                + (timedOut ? " timed out and was killed" : " exited with " + exitCode)
                + "\n--- stdout\n" + stdout + "--- stderr\n" + stderr;
    }
}
