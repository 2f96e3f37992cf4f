package io.svcmove.vip;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts a service in a cell through the native launcher ({@code svcmove-launch}), so that the
 * JVM never forks: the service becomes PID 1 of its own PID namespace, in its own session, with
 * its output going through a pipe to a relay that appends to the log.
 */
public final class ServiceLauncher {

    private static final Logger LOG = LoggerFactory.getLogger(ServiceLauncher.class);
    private static final Duration START_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration DEFAULT_GRACE = Duration.ofSeconds(5);
    private static final Duration KILL_WAIT = Duration.ofSeconds(5);
    private static final String PREFIX = "svcmove-launch: ";

    private final Path launcher;

    public ServiceLauncher(Path launcher) {
        this.launcher = launcher;
    }

    public Path launcher() {
        return launcher;
    }

    /**
     * Starts {@code command} as PID 1 of a new PID, UTS and IPC namespace inside {@code cell}'s
     * network namespace, hostname = the service name, environment = {@code env} plus a default PATH.
     *
     * @return the service's PID in this JVM's PID namespace
     * @throws CellException with the launcher's message (e.g. {@code command not found: foo})
     */
    public long start(Cell cell, List<String> command, Map<String, String> env, Path cwd, Path logFile) {
        if (command.isEmpty()) {
            throw new CellException("no command given for service " + cell.service() + "; give the program and its arguments");
        }
        if (!Files.isExecutable(launcher)) {
            throw new CellException("launcher " + launcher + " is missing or not executable; run 'make native'");
        }
        List<String> cmd = new ArrayList<>(List.of(launcher.toString(),
                "--netns", cell.netnsPath().toString(),
                "--hostname", cell.service(),
                "--log", logFile.toAbsolutePath().toString(),
                "--cwd", cwd.toAbsolutePath().toString()));
        env.forEach((k, v) -> {
            if (k.isEmpty() || k.contains("=") || k.indexOf('\0') >= 0 || v.indexOf('\0') >= 0) {
                throw new CellException("environment variable name '" + k + "' is not allowed; use a name without '=' or NUL");
            }
            cmd.add("--env");
            cmd.add(k + "=" + v);
        });
        cmd.add("--");
        cmd.addAll(command);

        Exec.Result r = Exec.run(cmd, null, START_TIMEOUT);
        if (!r.ok()) {
            String msg = r.message();
            if (msg.startsWith(PREFIX)) {
                msg = msg.substring(PREFIX.length());
            }
            throw new CellException("cannot start service " + cell.service() + " in cell " + cell.netnsName() + ": " + msg);
        }
        Optional<Long> pid = r.stdout().lines().filter(l -> l.startsWith("pid=")).map(l -> l.substring(4).strip())
                .map(Long::parseLong).findFirst();
        if (pid.isEmpty()) {
            throw new CellException("the launcher " + launcher + " exited 0 without printing pid=; it does not match this svcmove, rebuild it with 'make native'");
        }
        LOG.info("cell {}: started {} as PID {}, output to {}", cell.netnsName(), command, pid.get(), logFile);
        return pid.get();
    }

    /** A relay started by {@link #startRelay}: open {@code pipe} for writing to get a write end of its pipe. */
    public record Relay(long pid, Path pipe) {
    }

    /**
     * Starts only an output relay, for a service that CRIU is about to restore on this node. The
     * dumped service's stdout pipe had its reader (the source's relay) outside the tree, so CRIU
     * would restore it without one: output lost, SIGPIPE for every process but the cell's PID 1.
     * Within {@code attachWindow}, open {@link Relay#pipe()} for writing and give that fd to the
     * restore as {@code --inherit-fd fd[N]:pipe:[INODE]} (the pipe's key, read on the source before
     * the dump), then close it. The relay appends to {@code logFile} and ends with the
     * last writer once the window has passed.
     */
    public Relay startRelay(Path logFile, Duration attachWindow) {
        if (!Files.isExecutable(launcher)) {
            throw new CellException("launcher " + launcher + " is missing or not executable; run 'make native'");
        }
        long seconds = Math.max(1, attachWindow.toSeconds());
        Exec.Result r = Exec.run(List.of(launcher.toString(), "--relay", "--log", logFile.toAbsolutePath().toString(),
                "--attach-timeout", Long.toString(seconds)), null, START_TIMEOUT);
        if (!r.ok()) {
            String msg = r.message();
            throw new CellException("cannot start an output relay to " + logFile + ": "
                    + (msg.startsWith(PREFIX) ? msg.substring(PREFIX.length()) : msg));
        }
        for (String line : r.stdout().lines().toList()) {
            String[] f = line.strip().split(" ");
            if (f.length == 2 && f[0].startsWith("relay=") && f[1].startsWith("pipe=")) {
                return new Relay(Long.parseLong(f[0].substring(6)), Path.of(f[1].substring(5)));
            }
        }
        throw new CellException("the launcher " + launcher + " printed no relay=/pipe= line; rebuild it with 'make native'");
    }

    /** True while {@code pid} runs (a zombie counts as gone). */
    public boolean alive(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            // The state follows the command name, which may itself contain spaces and ')'.
            int close = stat.lastIndexOf(')');
            char state = close >= 0 && close + 2 < stat.length() ? stat.charAt(close + 2) : '?';
            return state != 'Z' && state != 'X';
        } catch (IOException e) {
            return false;
        }
    }

    /** {@link #stop(long, Duration)} with a 5 s grace period. */
    public void stop(long pid) {
        stop(pid, DEFAULT_GRACE);
    }

    /**
     * Stops the service whose cell PID 1 is {@code pid}: SIGTERM, then SIGKILL after {@code grace}.
     * Killing a PID namespace's init ends every process in it. A PID 1 without a SIGTERM handler
     * ignores SIGTERM (the kernel protects namespace inits), hence the SIGKILL.
     */
    public void stop(long pid, Duration grace) {
        Optional<ProcessHandle> handle = ProcessHandle.of(pid);
        if (handle.isEmpty() || !alive(pid)) {
            return;
        }
        handle.get().destroy();
        if (waitGone(pid, grace)) {
            return;
        }
        LOG.info("PID {} still running {} s after SIGTERM, sending SIGKILL", pid, grace.toSeconds());
        handle.get().destroyForcibly();
        if (!waitGone(pid, KILL_WAIT)) {
            throw new CellException("PID " + pid + " survives SIGKILL (stuck in the kernel, state D?); check /proc/" + pid + "/stack");
        }
    }

    private boolean waitGone(long pid, Duration limit) {
        long deadline = System.nanoTime() + limit.toNanos();
        while (alive(pid)) {
            if (System.nanoTime() >= deadline) {
                return false;
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CellException("interrupted while stopping PID " + pid, e);
            }
        }
        return true;
    }
}
