package io.svcmove.migrator.move;

import io.svcmove.migrator.control.ControlException;
import io.svcmove.migrator.control.Outcome;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The operator's executables in the hooks directory, run on the source around each phase of a move,
 * as CRIU runs its action scripts: every executable for every hook, in name order, with
 * SVCMOVE_HOOK (pre-prepare, post-prepare, pre-freeze, ..., post-commit, or rollback) and the move
 * in the environment. A failing pre-prepare hook refuses the move before anything changed; later
 * hooks cannot stop a move (a half-made move is undone, not refused), so their failures are logged.
 * Each run is bounded; hooks between pre-freeze and post-restore lengthen the clients' stall.
 */
public final class Hooks {
    private static final Logger log = LoggerFactory.getLogger(Hooks.class);
    private static final int OUTPUT_LINES = 20;

    private final Path dir;
    private final Duration timeout;

    /** What a hook learns of the move. */
    public record Move(String service, String vip, String source, String destination) {}

    public Hooks(Path dir, Duration timeout) {
        this.dir = dir;
        this.timeout = timeout;
    }

    /** The hooks of one move: the directory is read once, so an empty one costs the move nothing. */
    public Run forMove(Move move) {
        List<Path> found = new ArrayList<>();
        if (Files.isDirectory(dir)) {
            try (Stream<Path> files = Files.list(dir)) {
                files.filter(f -> Files.isRegularFile(f) && Files.isExecutable(f) && !f.getFileName().toString().startsWith("."))
                        .sorted().forEach(found::add);
            } catch (IOException e) {
                throw new ControlException(Outcome.REFUSED, "cannot read the hooks directory " + dir + ": " + e.getMessage());
            }
        }
        return new Run(move, found);
    }

    public final class Run {
        private final Move move;
        private final List<Path> executables;

        Run(Move move, List<Path> executables) {
            this.move = move;
            this.executables = executables;
        }

        /** Before anything changed: a hook that fails (or outlives its time) refuses the move. */
        public void prePrepare() {
            List<String> failed = run("pre-prepare");
            if (!failed.isEmpty()) {
                throw new ControlException(Outcome.REFUSED, "move of " + move.service() + " to " + move.destination()
                        + " refused by the pre-prepare hook " + String.join(", ", failed) + "; nothing changed, "
                        + move.service() + " still runs on " + move.source());
            }
        }

        /** The move's listener, with the phase hooks run around the phases it sees. */
        public MoveListener around(MoveListener inner) {
            if (executables.isEmpty()) {
                return inner;
            }
            return new MoveListener() {
                @Override
                public void phaseStarted(Phase phase) {
                    if (phase != Phase.PREPARE) { // pre-prepare ran before the move began, where it can refuse it
                        run("pre-" + phase.label());
                    }
                    inner.phaseStarted(phase);
                }

                @Override
                public void phaseDone(Phase phase, long micros) {
                    inner.phaseDone(phase, micros);
                    run("post-" + phase.label());
                }

                @Override
                public void stepFailed(Step step, Exception cause) {
                    inner.stepFailed(step, cause);
                }

                @Override
                public void stepRetried(Step step) {
                    inner.stepRetried(step);
                }

                @Override
                public void rollingBack(Phase failedIn) {
                    inner.rollingBack(failedIn);
                    run("rollback");
                }

                @Override
                public void undone(Step step, long micros) {
                    inner.undone(step, micros);
                }

                @Override
                public void undoFailed(Step step, Exception cause) {
                    inner.undoFailed(step, cause);
                }

                @Override
                public void criu(String script) {
                    inner.criu(script);
                }

                @Override
                public void transferred(long sent, long total) {
                    inner.transferred(sent, total);
                }

                @Override
                public void precopyRound(OutgoingMove.Round round) {
                    inner.precopyRound(round);
                }
            };
        }

        /** Runs every executable for HOOK; returns those that failed, each with why. */
        private List<String> run(String hook) {
            List<String> failed = new ArrayList<>();
            for (Path exe : executables) {
                String why = runOne(exe, hook);
                if (why != null) {
                    failed.add(exe.getFileName() + " (" + why + ")");
                    log.warn("hook {} {} of the move of {} to {}: {}", exe, hook, move.service(), move.destination(), why);
                }
            }
            return failed;
        }

        private String runOne(Path exe, String hook) {
            File output = null;
            try {
                output = File.createTempFile("svcmove-hook-", ".log");
                ProcessBuilder pb = new ProcessBuilder(exe.toString()).directory(dir.toFile()).redirectErrorStream(true)
                        .redirectOutput(output).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
                Map<String, String> env = pb.environment();
                env.put("SVCMOVE_HOOK", hook);
                env.put("SVCMOVE_SERVICE", move.service());
                env.put("SVCMOVE_VIP", move.vip());
                env.put("SVCMOVE_SOURCE", move.source());
                env.put("SVCMOVE_DESTINATION", move.destination());
                long start = System.nanoTime();
                Process p = pb.start();
                boolean ended = p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
                if (!ended) {
                    p.descendants().forEach(ProcessHandle::destroyForcibly);
                    p.destroyForcibly().waitFor();
                }
                List<String> lines = Files.readAllLines(output.toPath());
                lines.stream().skip(Math.max(0, lines.size() - OUTPUT_LINES))
                        .forEach(l -> log.info("hook {} {}: {}", exe.getFileName(), hook, l));
                log.info("hook {} {} of {}: {} in {} ms", exe.getFileName(), hook, move.service(),
                        ended ? "exit " + p.exitValue() : "killed", (System.nanoTime() - start) / 1_000_000);
                if (!ended) {
                    return "still running after " + timeout.toSeconds() + " s, killed";
                }
                if (p.exitValue() != 0) {
                    return "exit " + p.exitValue() + (lines.isEmpty() ? "" : ": " + lines.get(lines.size() - 1));
                }
                return null;
            } catch (IOException e) {
                return "cannot run: " + e.getMessage();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return "interrupted";
            } finally {
                if (output != null && !output.delete()) {
                    log.debug("could not delete {}", output);
                }
            }
        }
    }
}
