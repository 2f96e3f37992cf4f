package io.svcmove.migrator.agent;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/** Who asked for a request, as the audit line names them. */
public sealed interface Caller {
    /** The fields that name the caller, in the order the audit line shows them. */
    Map<String, Object> fields();

    /**
     * A process on this node, through the CLI socket: what the kernel says of the socket's peer
     * (pid, uid), and from /proc its login uid (set at login, kept across sudo and su: the person
     * behind a root shell) and command line. A process gone before it was read leaves them unknown.
     */
    record Local(long pid, long uid, String loginUid, String cmdline) implements Caller {
        /** Longer command lines are cut: a run's command can be long, and the line stays readable. */
        static final int MAX_CMDLINE = 512;
        /** What /proc/PID/loginuid holds when nobody logged in (a daemon, a unit started at boot). */
        static final String UNSET = "4294967295";

        /** Reads what /proc tells of PID; the peer credentials gave PID and UID. */
        public static Local of(long pid, long uid) {
            return of(Path.of("/proc"), pid, uid);
        }

        static Local of(Path proc, long pid, long uid) {
            Path dir = proc.resolve(Long.toString(pid));
            String login = read(dir.resolve("loginuid")).map(String::trim).orElse("?");
            String cmdline = read(dir.resolve("cmdline")).map(Local::cmdline).orElse("?");
            return new Local(pid, uid, login.equals(UNSET) ? "unset" : login, cmdline);
        }

        /** /proc/PID/cmdline's NUL-separated arguments as one line, cut at {@link #MAX_CMDLINE}. */
        static String cmdline(String raw) {
            String line = raw.replace('\0', ' ').strip();
            return line.length() <= MAX_CMDLINE ? line : line.substring(0, MAX_CMDLINE) + "...";
        }

        private static Optional<String> read(Path file) {
            try {
                return Optional.of(new String(Files.readAllBytes(file), StandardCharsets.UTF_8));
            } catch (IOException e) {
                return Optional.empty();
            }
        }

        @Override
        public Map<String, Object> fields() {
            Map<String, Object> f = new LinkedHashMap<>();
            f.put("caller", "cli");
            f.put("pid", pid);
            f.put("uid", uid);
            f.put("loginuid", loginUid);
            f.put("cmdline", cmdline);
            return f;
        }
    }

    /**
     * A drain of NODE, which this agent carries out: each of its moves is logged as this caller's,
     * after the drain's own line names who asked for the drain.
     */
    record Drain(String node) implements Caller {
        @Override
        public Map<String, Object> fields() {
            return ofNode("drain", "drained", node);
        }
    }

    /** A peer agent, named by the certificate it proved during the TLS handshake. */
    record Peer(String node) implements Caller {
        @Override
        public Map<String, Object> fields() {
            return ofNode("peer", "peer", node);
        }
    }

    /** {@code caller=KIND KEY=NODE}, for the callers that a node stands for. */
    private static Map<String, Object> ofNode(String kind, String key, String node) {
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("caller", kind);
        f.put(key, node);
        return f;
    }
}
