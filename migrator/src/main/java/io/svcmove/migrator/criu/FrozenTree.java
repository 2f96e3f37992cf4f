package io.svcmove.migrator.criu;

import com.sun.jna.ptr.IntByReference;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;

/**
 * A process tree that CRIU dumped with {@code leave_stopped}: stopped, its TCP sockets still in
 * repair mode. Exactly one of {@link #resume()} (rollback: the service carries on here) or
 * {@link #kill()} (commit: the service lives elsewhere now) ends it.
 *
 * <p>Neither touches firewall rules: with {@link NetworkLock#SKIP} CRIU added none, and the
 * caller lifts its own hold.
 */
public final class FrozenTree {
    private final long rootPid;

    public FrozenTree(long rootPid) {
        if (rootPid <= 1 || rootPid > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("not a tree root: " + rootPid);
        }
        this.rootPid = rootPid;
    }

    public long rootPid() {
        return rootPid;
    }

    /**
     * Takes every TCP socket of the tree out of repair mode from outside (pidfd_getfd, then
     * TCP_REPAIR = TCP_REPAIR_OFF_NO_WP on the duplicate: no window probe, the peer sees at most
     * a stall) and then sends SIGCONT to every process. Resuming without the first step would
     * reset every connection.
     *
     * @return how many sockets left repair mode
     * @throws IOException if the tree is gone, or after SIGCONT if some socket could not leave
     *     repair mode (the message names them: those connections will break)
     */
    public int resume() throws IOException {
        List<Long> pids = processes();
        List<String> failures = new ArrayList<>();
        int released = 0;
        for (long pid : pids) {
            released += releaseSockets(pid, failures);
        }
        for (long pid : pids) {
            if (Libc.C.kill((int) pid, Libc.SIGCONT) != 0) {
                failures.add("SIGCONT to " + pid + ": " + Libc.lastError());
            }
        }
        if (!failures.isEmpty()) {
            throw new IOException("tree " + rootPid + " resumed, but: " + String.join("; ", failures));
        }
        return released;
    }

    /** Whether a tracer still holds the root: CRIU, dumping it or (a lazy dump) serving its pages. */
    public boolean traced() {
        return tracer().isPresent();
    }

    /** The process that traces the root, if one does. */
    public OptionalLong tracer() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(rootPid), "status"))) {
                if (line.startsWith("TracerPid:")) {
                    long pid = Long.parseLong(line.substring(10).trim());
                    return pid == 0 ? OptionalLong.empty() : OptionalLong.of(pid);
                }
            }
        } catch (IOException | NumberFormatException e) {
            // gone: nothing holds it
        }
        return OptionalLong.empty();
    }

    /**
     * SIGKILL to every process of the tree (the root first: if it is a PID namespace's init that
     * alone ends the namespace). Repair-mode sockets close without a RST. Waits up to
     * {@code wait} for the processes to be gone (zombies count as gone).
     *
     * @return true if every process was gone in time (also when the tree was gone already)
     */
    public boolean kill(long wait, TimeUnit unit) throws IOException, InterruptedException {
        if (!isLive(rootPid)) {
            return true;
        }
        List<Long> pids = processes();
        for (long pid : pids) {
            Libc.C.kill((int) pid, Libc.SIGKILL);
        }
        long deadline = System.nanoTime() + unit.toNanos(wait);
        while (pids.stream().anyMatch(FrozenTree::isLive)) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(10);
        }
        return true;
    }

    /** {@link #kill(long, TimeUnit)} waiting up to 5 s. */
    public boolean kill() throws IOException, InterruptedException {
        return kill(5, TimeUnit.SECONDS);
    }

    /** The root and all its descendants, root first (breadth first). */
    List<Long> processes() throws IOException {
        if (!isLive(rootPid)) {
            throw new IOException("process " + rootPid + " does not exist (any more): nothing to resume or kill");
        }
        Map<Long, List<Long>> children = new HashMap<>();
        try (DirectoryStream<Path> proc = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
            for (Path p : proc) {
                long pid = Long.parseLong(p.getFileName().toString());
                long ppid = parentOf(pid);
                if (ppid > 0) {
                    children.computeIfAbsent(ppid, k -> new ArrayList<>()).add(pid);
                }
            }
        }
        List<Long> out = new ArrayList<>();
        Deque<Long> todo = new ArrayDeque<>(List.of(rootPid));
        while (!todo.isEmpty()) {
            long pid = todo.removeFirst();
            out.add(pid);
            todo.addAll(children.getOrDefault(pid, List.of()));
        }
        return out;
    }

    private static int releaseSockets(long pid, List<String> failures) throws IOException {
        Libc c = Libc.C;
        int pidfd = (int) c.syscall(Libc.SYS_PIDFD_OPEN, pid, 0);
        if (pidfd < 0) {
            failures.add("pidfd_open(" + pid + "): " + Libc.lastError());
            return 0;
        }
        int released = 0;
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(Path.of("/proc", Long.toString(pid), "fd"))) {
            for (Path fdPath : fds) {
                String target;
                try {
                    target = Files.readSymbolicLink(fdPath).toString();
                } catch (NoSuchFileException e) {
                    continue;
                }
                if (!target.startsWith("socket:")) {
                    continue;
                }
                int targetFd = Integer.parseInt(fdPath.getFileName().toString());
                int dup = (int) c.syscall(Libc.SYS_PIDFD_GETFD, pidfd, targetFd, 0);
                if (dup < 0) {
                    failures.add("pidfd_getfd(" + pid + ", " + targetFd + "): " + Libc.lastError());
                    continue;
                }
                try {
                    if (leaveRepair(dup, pid, targetFd, failures)) {
                        released++;
                    }
                } finally {
                    c.close(dup);
                }
            }
        } finally {
            c.close(pidfd);
        }
        return released;
    }

    /** Only TCP sockets in repair mode are touched: leaving repair also clears SO_REUSEADDR. */
    private static boolean leaveRepair(int fd, long pid, int targetFd, List<String> failures) {
        Libc c = Libc.C;
        IntByReference value = new IntByReference();
        IntByReference len = new IntByReference(4);
        if (c.getsockopt(fd, Libc.SOL_SOCKET, Libc.SO_PROTOCOL, value, len) != 0
                || value.getValue() != Libc.IPPROTO_TCP) {
            return false;
        }
        len.setValue(4);
        if (c.getsockopt(fd, Libc.SOL_TCP, Libc.TCP_REPAIR, value, len) != 0 || value.getValue() != 1) {
            return false;
        }
        if (c.setsockopt(fd, Libc.SOL_TCP, Libc.TCP_REPAIR, new IntByReference(Libc.TCP_REPAIR_OFF_NO_WP), 4) != 0) {
            failures.add("TCP_REPAIR off on fd " + targetFd + " of " + pid + ": " + Libc.lastError());
            return false;
        }
        return true;
    }

    /** Parent PID from /proc/PID/stat, or -1 if the process is gone. */
    private static long parentOf(long pid) {
        String stat = readStat(pid);
        if (stat == null) {
            return -1;
        }
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(f[1]);
    }

    /** One-letter state from /proc/PID/stat (R, S, T, Z …), or null if the process is gone. */
    static String state(long pid) {
        String stat = readStat(pid);
        return stat == null ? null : stat.substring(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    }

    private static boolean isLive(long pid) {
        String s = state(pid);
        return s != null && !s.equals("Z") && !s.equals("X");
    }

    private static String readStat(long pid) {
        try {
            return Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
        } catch (IOException e) {
            return null;
        }
    }

    @Override
    public String toString() {
        return "frozen tree " + rootPid;
    }
}
