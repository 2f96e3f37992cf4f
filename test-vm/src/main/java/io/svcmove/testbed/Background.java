package io.svcmove.testbed;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * A command left running on a bed host. Its stdout and stderr go, merged, to a file, so a chatty
 * command never blocks on a full pipe. {@link #close()} stops it and deletes the file.
 */
public final class Background implements AutoCloseable {
    private final List<String> command;
    private final Process process;
    private final Path output;

    Background(List<String> command, Process process, Path output) {
        this.command = List.copyOf(command);
        this.process = process;
        this.output = output;
    }

    /** The command's own PID: the bed's wrappers exec into it. */
    public long pid() {
        return process.pid();
    }

    public ProcessHandle handle() {
        return process.toHandle();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    public List<String> command() {
        return command;
    }

    /** Everything it printed so far. */
    public String output() {
        try {
            return Files.exists(output) ? Files.readString(output, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the output of " + command + " from " + output, e);
        }
    }

    /** SIGTERM to it and its descendants, SIGKILL after 5 s; returns its exit code. */
    public int stop() {
        if (process.isAlive()) {
            ProcessTree.kill(process.toHandle(), Duration.ofSeconds(5));
        }
        try {
            return process.waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while stopping " + command, e);
        }
    }

    @Override
    public void close() {
        stop();
        try {
            Files.deleteIfExists(output);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + output, e);
        }
    }
}
