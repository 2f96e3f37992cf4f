package io.svcmove.migrator.criu;

import com.google.protobuf.InvalidProtocolBufferException;
import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import com.sun.jna.StringArray;
import com.sun.jna.ptr.IntByReference;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * One {@code criu swrk} child and our end of its SOCK_SEQPACKET RPC socket.
 *
 * <p>Spawned with posix_spawn (glibc uses CLONE_VFORK, so the multithreaded JVM is never
 * forked). Child fds: 0 is /dev/null, 1 and 2 go to {@code stderrFile} (CRIU writes there
 * before its log is set up), {@value #RPC_FD} is the RPC socket, then the caller's extra fds;
 * everything above is closed, so no JVM fd leaks into CRIU or the restored tree.
 */
final class SwrkProcess implements AutoCloseable {
    static final int RPC_FD = 3;
    /** Sources are first moved above every target fd, so a dup2 never clobbers a later source. */
    private static final int STAGING_FD_MIN = 100;
    /** A criu_resp is a few hundred bytes; MSG_TRUNC catches anything larger. */
    private static final int RECV_BUFFER = 64 * 1024;
    private static final long POLL_SLICE_MS = 100;
    private static final long REAP_TIMEOUT_MS = 10_000;

    private final int pid;
    private int fd;
    private boolean reaped;
    private int exitStatus = -1;

    private SwrkProcess(int pid, int fd) {
        this.pid = pid;
        this.fd = fd;
    }

    /**
     * @param extraFds child fd number (above {@value #RPC_FD}) → open fd of this JVM to place there
     * @param stderrFile where CRIU's stdout/stderr go; null for /dev/null
     */
    static SwrkProcess spawn(Path criu, SortedMap<Integer, Integer> extraFds, Path stderrFile) throws IOException {
        return spawn(criu, List.of("swrk", Integer.toString(RPC_FD)), extraFds, stderrFile);
    }

    /**
     * Any CRIU command, with our socket's other end as its fd {@value #RPC_FD} (for {@code
     * lazy-pages}, its {@code --status-fd}).
     */
    static SwrkProcess spawn(Path criu, List<String> args, SortedMap<Integer, Integer> extraFds, Path stderrFile)
            throws IOException {
        if (!extraFds.isEmpty() && (extraFds.firstKey() <= RPC_FD || extraFds.lastKey() >= STAGING_FD_MIN)) {
            throw new IllegalArgumentException("child fds must be in (" + RPC_FD + ", " + STAGING_FD_MIN + "): " + extraFds);
        }
        Libc c = Libc.C;
        int[] sv = new int[2];
        if (c.socketpair(Libc.AF_UNIX, Libc.SOCK_SEQPACKET | Libc.SOCK_CLOEXEC, 0, sv) != 0) {
            throw new IOException("socketpair(AF_UNIX, SOCK_SEQPACKET): " + Libc.lastError());
        }
        SortedMap<Integer, Integer> targets = new TreeMap<>(extraFds);
        targets.put(RPC_FD, sv[1]);
        List<Integer> staged = new ArrayList<>();
        Memory actions = new Memory(Libc.SPAWN_STRUCT_BYTES);
        Memory attr = new Memory(Libc.SPAWN_STRUCT_BYTES);
        Memory sigs = new Memory(Libc.SPAWN_STRUCT_BYTES);
        boolean actionsReady = false;
        boolean attrReady = false;
        try {
            check(c.posix_spawn_file_actions_init(actions), "posix_spawn_file_actions_init");
            actionsReady = true;
            check(c.posix_spawnattr_init(attr), "posix_spawnattr_init");
            attrReady = true;
            // The JVM blocks and ignores signals of its own; CRIU must start with defaults.
            c.sigemptyset(sigs);
            check(c.posix_spawnattr_setsigmask(attr, sigs), "posix_spawnattr_setsigmask");
            c.sigfillset(sigs);
            check(c.posix_spawnattr_setsigdefault(attr, sigs), "posix_spawnattr_setsigdefault");
            check(c.posix_spawnattr_setflags(attr, (short) (Libc.POSIX_SPAWN_SETSIGDEF | Libc.POSIX_SPAWN_SETSIGMASK)),
                    "posix_spawnattr_setflags");

            String out = stderrFile == null ? "/dev/null" : stderrFile.toString();
            check(c.posix_spawn_file_actions_addopen(actions, 0, "/dev/null", Libc.O_RDONLY, 0), "addopen stdin");
            check(c.posix_spawn_file_actions_addopen(actions, 1, out, Libc.O_WRONLY | Libc.O_CREAT | Libc.O_TRUNC, 0600),
                    "addopen stdout");
            check(c.posix_spawn_file_actions_adddup2(actions, 1, 2), "adddup2 stderr");
            for (var e : targets.entrySet()) {
                int source = c.fcntl(e.getValue(), Libc.F_DUPFD_CLOEXEC, STAGING_FD_MIN);
                if (source < 0) {
                    throw new IOException("fcntl(F_DUPFD_CLOEXEC) of fd " + e.getValue() + ": " + Libc.lastError());
                }
                staged.add(source);
                check(c.posix_spawn_file_actions_adddup2(actions, source, e.getKey()), "adddup2");
            }
            check(c.posix_spawn_file_actions_addclosefrom_np(actions, targets.lastKey() + 1), "addclosefrom_np");

            List<String> command = new ArrayList<>(List.of(criu.toString()));
            command.addAll(args);
            String[] argv = command.toArray(String[]::new);
            // No HOME and no CRIU_CONFIG_FILE: only the options sent over RPC apply.
            String[] envp = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"};
            IntByReference childPid = new IntByReference();
            int rc = c.posix_spawn(childPid, criu.toString(), actions, attr, new StringArray(argv), new StringArray(envp));
            if (rc != 0) {
                throw new IOException("posix_spawn " + criu + ": " + c.strerror(rc) + " (errno " + rc + ")"
                        + "; check that native/setup built CRIU and the path is executable");
            }
            c.close(sv[1]);
            return new SwrkProcess(childPid.getValue(), sv[0]);
        } catch (IOException | RuntimeException e) {
            c.close(sv[0]);
            c.close(sv[1]);
            throw e;
        } finally {
            staged.forEach(c::close);
            if (actionsReady) {
                c.posix_spawn_file_actions_destroy(actions);
            }
            if (attrReady) {
                c.posix_spawnattr_destroy(attr);
            }
        }
    }

    private static void check(int rc, String what) throws IOException {
        if (rc != 0) {
            throw new IOException(what + ": " + Libc.C.strerror(rc) + " (errno " + rc + ")");
        }
    }

    int pid() {
        return pid;
    }

    void send(CriuRpc.CriuReq req) throws IOException {
        byte[] bytes = req.toByteArray();
        long n = Libc.C.send(fd, bytes, bytes.length, Libc.MSG_NOSIGNAL);
        if (n != bytes.length) {
            throw new IOException("sending " + req.getType() + " to criu swrk (pid " + pid + "): "
                    + (n < 0 ? Libc.lastError() : "short write"));
        }
    }

    /**
     * Waits for the next packet until {@code deadlineNanos} (System.nanoTime based), polling in short
     * slices so that an interrupt is noticed.
     *
     * @return the response, or null if CRIU closed the socket (it exited)
     * @throws CriuTimeoutException at the deadline
     */
    CriuRpc.CriuResp receive(long deadlineNanos) throws IOException, InterruptedException, CriuTimeoutException {
        awaitReadable(deadlineNanos);
        byte[] buf = new byte[RECV_BUFFER];
        long n = Libc.C.recv(fd, buf, buf.length, Libc.MSG_TRUNC | Libc.MSG_DONTWAIT);
        if (n < 0) {
            throw new IOException("recv from criu swrk (pid " + pid + "): " + Libc.lastError());
        }
        return decode(buf, n);
    }

    /**
     * One packet of {@code n} bytes (as recv with MSG_TRUNC reports it) received into {@code buf}:
     * the response, null for end of stream, an IOException for anything else.
     */
    static CriuRpc.CriuResp decode(byte[] buf, long n) throws IOException {
        if (n == 0) {
            return null;
        }
        if (n > buf.length) {
            throw new IOException("criu swrk sent a " + n + "-byte packet, more than the " + buf.length + " expected");
        }
        try {
            return CriuRpc.CriuResp.parseFrom(Arrays.copyOf(buf, (int) n));
        } catch (InvalidProtocolBufferException e) {
            throw new IOException("criu swrk sent a message that is not a criu_resp: " + e.getMessage(), e);
        }
    }

    /**
     * Waits until CRIU writes to its end (a status fd's readiness byte) or closes it.
     *
     * @return true for data, false when CRIU closed its end (it exited)
     */
    boolean awaitData(long deadlineNanos) throws IOException, InterruptedException, CriuTimeoutException {
        awaitReadable(deadlineNanos);
        long n = Libc.C.recv(fd, new byte[16], 16, Libc.MSG_DONTWAIT);
        if (n < 0 && com.sun.jna.Native.getLastError() != Libc.EINTR) {
            throw new IOException("recv from criu (pid " + pid + "): " + Libc.lastError());
        }
        return n > 0;
    }

    /** Polls our end in short slices until it is readable (data, or CRIU closed it), so that an interrupt is noticed. */
    private void awaitReadable(long deadlineNanos) throws IOException, InterruptedException, CriuTimeoutException {
        Memory pfd = new Memory(8);
        while (true) {
            if (Thread.interrupted()) {
                throw new InterruptedException("interrupted while waiting for criu (pid " + pid + ")");
            }
            long left = TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime());
            if (left <= 0) {
                throw new CriuTimeoutException();
            }
            pfd.setInt(0, fd);
            pfd.setShort(4, Libc.POLLIN);
            pfd.setShort(6, (short) 0);
            int ready = Libc.C.poll(pfd, 1, (int) Math.min(left, POLL_SLICE_MS));
            if (ready < 0 && com.sun.jna.Native.getLastError() != Libc.EINTR) {
                throw new IOException("poll on criu's socket (pid " + pid + "): " + Libc.lastError());
            }
            if (ready > 0) {
                return;
            }
        }
    }

    /** Whether the child has exited (reaping it if so), without waiting. */
    boolean exited() {
        return reaped || reap(0);
    }

    /** SIGKILL to the child (only ever our own child, by PID). */
    void kill() {
        if (!reaped) {
            Libc.C.kill(pid, Libc.SIGKILL);
        }
    }

    /** Exit status as waitpid returned it, or -1 if the child was not reaped. */
    int exitStatus() {
        return exitStatus;
    }

    /**
     * Closes our end (swrk exits on EOF once its request is done) and reaps the child,
     * killing it if it does not exit within {@value #REAP_TIMEOUT_MS} ms.
     */
    @Override
    public void close() {
        if (fd >= 0) {
            Libc.C.close(fd);
            fd = -1;
        }
        if (!reaped && !reap(REAP_TIMEOUT_MS)) {
            kill();
            reap(REAP_TIMEOUT_MS);
        }
    }

    private boolean reap(long timeoutMs) {
        IntByReference status = new IntByReference();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        long sleep = 1;
        // Reaping must finish or the child stays a zombie: an interrupt is kept for the caller.
        boolean interrupted = false;
        try {
            while (true) {
                int r = Libc.C.waitpid(pid, status, Libc.WNOHANG);
                if (r == pid || (r < 0 && com.sun.jna.Native.getLastError() != Libc.EINTR)) {
                    reaped = true;
                    exitStatus = r == pid ? status.getValue() : -1;
                    return true;
                }
                if (System.nanoTime() > deadline) {
                    return false;
                }
                try {
                    Thread.sleep(sleep);
                } catch (InterruptedException e) {
                    interrupted = true;
                }
                sleep = Math.min(sleep * 2, 50);
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** The deadline passed before CRIU answered. */
    static final class CriuTimeoutException extends Exception {
        CriuTimeoutException() {
            super(null, null, false, false);
        }
    }
}
