package io.svcmove.vip;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs one external command (ip, nft, arping, the launcher) with a time limit. */
final class Exec {

    static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(15);

    record Result(List<String> command, int exitCode, String stdout, String stderr) {
        boolean ok() {
            return exitCode == 0;
        }

        /** Stderr if there is any, else stdout: what the tool had to say about a failure. */
        String message() {
            String s = stderr.strip();
            return s.isEmpty() ? stdout.strip() : s;
        }
    }

    private Exec() {
    }

    static Result run(List<String> command) {
        return run(command, null, DEFAULT_TIMEOUT);
    }

    /**
     * Output goes to temporary files rather than pipes: no reader threads, and a child that leaves
     * a descendant holding the pipe open cannot make us wait.
     */
    static Result run(List<String> command, String stdin, Duration timeout) {
        Path out = null;
        Path err = null;
        Path in = null;
        try {
            out = Files.createTempFile("svcmove-exec", ".out");
            err = Files.createTempFile("svcmove-exec", ".err");
            ProcessBuilder pb = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile());
            if (stdin != null) {
                in = Files.createTempFile("svcmove-exec", ".in");
                Files.writeString(in, stdin, StandardCharsets.UTF_8);
                pb.redirectInput(in.toFile());
            } else {
                pb.redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
            }
            Process p;
            try {
                p = pb.start();
            } catch (IOException e) {
                throw new CellException("cannot run " + command.get(0) + ": " + e.getMessage()
                        + " (install it, or check PATH of the agent)", e);
            }
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                p.waitFor(2, TimeUnit.SECONDS);
                throw new CellException("'" + String.join(" ", command) + "' did not finish within "
                        + timeout.toSeconds() + " s and was killed; check the node's load and the tool's state");
            }
            return new Result(command, p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                    Files.readString(err, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new CellException("cannot run " + command.get(0) + ": " + e.getMessage()
                    + " (check that the temporary directory is writable)", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CellException("interrupted while running " + String.join(" ", command), e);
        } finally {
            deleteQuietly(out);
            deleteQuietly(err);
            deleteQuietly(in);
        }
    }

    /** Runs and fails with {@code what} plus the tool's own message unless the command exits 0. */
    static Result check(String what, List<String> command) {
        return check(what, command, null);
    }

    static Result check(String what, List<String> command, String stdin) {
        Result r = run(command, stdin, DEFAULT_TIMEOUT);
        if (!r.ok()) {
            throw new CellException(what + ": '" + String.join(" ", command) + "' exited " + r.exitCode() + ": " + r.message());
        }
        return r;
    }

    private static void deleteQuietly(Path p) {
        if (p != null) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException ignored) {
                // A leftover temp file is harmless; the command's outcome matters more.
            }
        }
    }
}
