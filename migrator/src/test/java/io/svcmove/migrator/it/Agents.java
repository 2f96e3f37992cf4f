package io.svcmove.migrator.it;

import io.svcmove.testbed.BedStatus;
import io.svcmove.testbed.Downloads;
import io.svcmove.testbed.ExecResult;
import io.svcmove.testbed.TestBed;
import io.svcmove.testbed.Wait;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Stops and starts a node's agent the way the bed does: {@code bin/svcmove agent --config
 * <agents[].config>} on the node (its netns, hostname and /etc), output appended to the agent's log. The bed's status JSON is read
 * once per run, so the live PID is kept in the bed's own agent.pid (next to agent.toml), which
 * {@code cluster status} reads too: after a restart both the tests and the bed see the new agent.
 * Public for the ITs of other packages (clock).
 */
public final class Agents {
    private static final Duration READY = Duration.ofSeconds(40);

    private Agents() {}

    public static BedStatus.Agent of(TestBed bed, String node) {
        return bed.status().agents().stream().filter(a -> a.node().equals(node)).findFirst()
                .orElseThrow(() -> new AssertionError("the bed lists no agent for " + node + ": " + bed.status().agents()));
    }

    static Path pidFile(TestBed bed, String node) {
        return Path.of(of(bed, node).config()).resolveSibling("agent.pid");
    }

    /** The PID of NODE's running agent, if one runs. */
    static Optional<Long> pid(TestBed bed, String node) {
        long pid;
        try {
            Path f = pidFile(bed, node);
            pid = Files.exists(f) ? Long.parseLong(Files.readString(f).trim()) : of(bed, node).pid();
        } catch (IOException | NumberFormatException e) {
            pid = of(bed, node).pid();
        }
        return It.alive(pid) ? Optional.of(pid) : Optional.empty();
    }

    /** Sends SIG to NODE's agent, by its PID, and waits (bounded) until it is gone. Returns the PID. */
    public static long kill(TestBed bed, String node, String sig) {
        long pid = pid(bed, node).orElseThrow(() -> new AssertionError("no agent runs on " + node));
        bed.execOutside(It.SHORT, "kill", "-" + sig, Long.toString(pid)).requireOk();
        ProcessHandle.of(pid).ifPresent(h -> {
            try {
                h.onExit().get(15, TimeUnit.SECONDS);
            } catch (Exception e) {
                throw new AssertionError("the agent of " + node + " (pid " + pid + ") outlived SIG" + sig + " by 15 s", e);
            }
        });
        Wait.until(It.SHORT, "pid " + pid + " (agent of " + node + ") is gone", () -> !It.alive(pid));
        return pid;
    }

    /**
     * Sends SIGHUP to NODE's agent, as systemd's reload does, and waits (bounded) for the log line that
     * says how the reload ended: "reloaded ..." or "reload refused ...". Returns that line.
     */
    static String reload(TestBed bed, String node) {
        long pid = pid(bed, node).orElseThrow(() -> new AssertionError("no agent runs on " + node));
        long mark = logMark(bed, node);
        bed.execOutside(It.SHORT, "kill", "-HUP", Long.toString(pid)).requireOk();
        String[] line = new String[1];
        Wait.until(It.SHORT, "the agent of " + node + " logs the end of its reload", () -> {
            line[0] = logSince(bed, node, mark).lines().filter(l -> l.contains("reloaded ") || l.contains("reload refused"))
                    .findFirst().orElse(null);
            return line[0] != null;
        });
        if (!It.alive(pid)) {
            throw new AssertionError("the agent of " + node + " (pid " + pid + ") did not survive SIGHUP; the end of its log:\n"
                    + tail(Path.of(of(bed, node).log()), 30));
        }
        return line[0];
    }

    /** Starts NODE's agent with its own config. */
    static long start(TestBed bed, String node) {
        return start(bed, node, of(bed, node).config());
    }

    /**
     * Starts NODE's agent with CONFIG and extra environment (K=V ...), then waits until
     * `svcmove status` on NODE exits 0. Returns the agent's PID.
     */
    public static long start(TestBed bed, String node, String config, String... env) {
        if (pid(bed, node).isPresent()) {
            throw new AssertionError("an agent already runs on " + node + " (pid " + pid(bed, node).get() + ")");
        }
        BedStatus.Agent a = of(bed, node);
        // Started in the background by a shell on the node that then exits, so the agent outlives
        // this call (and leaves no temp file behind, as a never-closed Background would); bin/svcmove
        // and env exec, so $! is the agent's own PID.
        List<String> cmd = new ArrayList<>(List.of("sh", "-c", "log=$1; shift; \"$@\" </dev/null >>\"$log\" 2>&1 & echo $!",
                "sh", a.log(), "env"));
        cmd.addAll(List.of(env));
        cmd.addAll(List.of(bed.checkout().resolve("bin/svcmove").toString(), "agent", "--config", config));
        ExecResult started = bed.exec(node, It.SHORT, cmd.toArray(String[]::new));
        long pid;
        try {
            pid = Long.parseLong(started.requireOk().stdout().trim());
        } catch (NumberFormatException e) {
            throw new AssertionError("starting the agent of " + node + " printed no PID:\n" + started.describe(), e);
        }
        try {
            Files.writeString(pidFile(bed, node), pid + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        long deadline = System.nanoTime() + READY.toNanos();
        ExecResult last = null;
        while (System.nanoTime() < deadline) {
            if (!It.alive(pid)) {
                throw new AssertionError("the agent of " + node + " (pid " + pid + ") exited at start; the end of "
                        + a.log() + ":\n" + tail(Path.of(a.log()), 30));
            }
            last = bed.svcmove(node, "status");
            if (last.ok()) {
                return pid;
            }
            Wait.sleep(300);
        }
        throw new AssertionError("the agent of " + node + " did not answer `svcmove status` within " + READY.toSeconds()
                + " s; last: " + (last == null ? "-" : last.describe()) + "\nthe end of its log:\n" + tail(Path.of(a.log()), 30));
    }

    /** Makes sure NODE runs its agent with its own config: restarts it if it is not running. For cleanup. */
    static void ensureRunning(TestBed bed, String node) {
        if (pid(bed, node).isEmpty()) {
            start(bed, node);
        }
    }

    /** Restarts NODE's agent with its own config (e.g. after a test ran it with another one). */
    public static void restartNormally(TestBed bed, String node) {
        if (pid(bed, node).isPresent()) {
            kill(bed, node, "TERM");
        }
        start(bed, node);
    }

    /** The size of NODE's agent log now: read only what comes after with {@link #logSince}. */
    static long logMark(TestBed bed, String node) {
        return Downloads.size(Path.of(of(bed, node).log()));
    }

    static String logSince(TestBed bed, String node, long mark) {
        try {
            byte[] all = Files.readAllBytes(Path.of(of(bed, node).log()));
            int from = (int) Math.min(mark, all.length);
            return new String(all, from, all.length - from, java.nio.charset.StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }

    static String tail(Path file, int lines) {
        try {
            List<String> all = Files.readAllLines(file);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "(cannot read " + file + ": " + e + ")";
        }
    }
}
