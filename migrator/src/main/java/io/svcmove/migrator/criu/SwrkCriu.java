package io.svcmove.migrator.criu;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link Criu} through {@code criu swrk}: one CRIU child per call, spawned with posix_spawn and
 * spoken to over a SOCK_SEQPACKET socketpair (libcriu would fork the JVM, and lacks
 * {@code leave_stopped}; {@code inherit_fd} exists in swrk mode only).
 */
public final class SwrkCriu implements Criu {
    private static final Logger LOG = LoggerFactory.getLogger(SwrkCriu.class);
    private static final Duration QUICK_TIMEOUT = Duration.ofSeconds(30);
    /**
     * `criu check` probes the kernel (it loads the socket-diag modules the first time): 30-40 s on a
     * loaded emulated node, where the quick limit made a working CRIU look missing.
     */
    private static final Duration CHECK_TIMEOUT = Duration.ofMinutes(2);
    private static final int FIRST_INHERIT_FD = SwrkProcess.RPC_FD + 1;
    /** After an interrupt or timeout, how long CRIU gets to reach a NOTIFY (and roll back) before it is killed. */
    static final Duration ABORT_GRACE = Duration.ofSeconds(10);

    private final Path criu;

    /** @param criuBinary CRIU 4.2.1 or later, e.g. native/build/criu-bin */
    public SwrkCriu(Path criuBinary) {
        if (!Files.isExecutable(criuBinary)) {
            throw new IllegalArgumentException("CRIU binary " + criuBinary
                    + " is missing or not executable: run native/setup, or point svcmove at CRIU 4.2.1");
        }
        this.criu = criuBinary;
    }

    public Path binary() {
        return criu;
    }

    @Override
    public boolean isCriu(long pid) {
        try {
            return Files.readSymbolicLink(Path.of("/proc", Long.toString(pid), "exe")).equals(criu.toRealPath());
        } catch (IOException e) {
            return false; // gone, or not ours to read
        }
    }

    @Override
    public CriuVersion version() throws CriuException, InterruptedException {
        CriuRpc.CriuReq req = CriuRpc.CriuReq.newBuilder().setType(CriuRpc.ReqType.VERSION).build();
        CriuRpc.CriuResp resp;
        try {
            resp = call("version query", req, new TreeMap<>(), null, null, QUICK_TIMEOUT, CriuListener.NONE);
        } catch (IOException e) {
            throw new CriuException("CRIU version query could not run: " + e.getMessage(), null, e);
        }
        if (!resp.hasVersion()) {
            throw new CriuException("CRIU " + criu + " answered the version query without a version: it is too old, "
                    + "use CRIU 4.2.1 (native/setup)", null, null);
        }
        return CriuVersion.fromRpc(resp.getVersion());
    }

    @Override
    public void check() throws CriuException, InterruptedException {
        try (ImageDir work = ImageDir.create("svcmove-criu-check-");
             OpenFd dir = OpenFd.openDirectory(work.path())) {
            String logFile = "check.log";
            CriuRpc.CriuReq req = CriuRpc.CriuReq.newBuilder()
                    .setType(CriuRpc.ReqType.CHECK)
                    .setOpts(CriuRpc.CriuOpts.newBuilder().setImagesDirFd(dir.fd()).setLogLevel(4).setLogFile(logFile))
                    .build();
            call("check", req, new TreeMap<>(), work.path().resolve(logFile + ".stderr"), work.path().resolve(logFile),
                    CHECK_TIMEOUT, CriuListener.NONE);
        } catch (IOException e) {
            throw new CriuException("CRIU check could not run: " + e.getMessage(), null, e);
        }
    }

    @Override
    public boolean lazyPagesAvailable() throws CriuException, InterruptedException {
        return featureCheck(CriuRpc.Features.newBuilder().setLazyPages(true)).getLazyPages();
    }

    @Override
    public boolean dirtyTrackingAvailable() throws CriuException, InterruptedException {
        return featureCheck(CriuRpc.Features.newBuilder().setMemTrack(true)).getMemTrack();
    }

    /** CRIU's answer to a feature check of {@code asked} (a feature it does not report is false). */
    private CriuRpc.Features featureCheck(CriuRpc.Features.Builder asked) throws CriuException, InterruptedException {
        CriuRpc.CriuReq req = CriuRpc.CriuReq.newBuilder().setType(CriuRpc.ReqType.FEATURE_CHECK).setFeatures(asked).build();
        try {
            CriuRpc.CriuResp resp = call("feature check", req, new TreeMap<>(), null, null, QUICK_TIMEOUT, CriuListener.NONE);
            return resp.hasFeatures() ? resp.getFeatures() : CriuRpc.Features.getDefaultInstance();
        } catch (IOException e) {
            throw new CriuException("CRIU feature check could not run: " + e.getMessage(), null, e);
        }
    }

    @Override
    public DumpResult dump(DumpOptions options, CriuListener listener) throws CriuException, InterruptedException {
        return dump(CriuRpc.ReqType.DUMP, "dump of pid " + options.pid() + (options.leaveStopped() ? " (leave stopped)" : ""),
                options, listener);
    }

    @Override
    public DumpResult preDump(DumpOptions options, CriuListener listener) throws CriuException, InterruptedException {
        if (options.lazy() || options.leaveStopped()) {
            throw new IllegalArgumentException("a pre-dump leaves the tree running and writes its pages: not lazy, not leaveStopped");
        }
        // SINGLE_PRE_DUMP: PRE_DUMP would keep CRIU waiting for the session's next pre-dump or dump; each call here is one criu.
        return dump(CriuRpc.ReqType.SINGLE_PRE_DUMP, "pre-dump of pid " + options.pid(), options, listener);
    }

    /** A dump or pre-dump, and what CRIU counted in it ({@link DumpStats}, in the work dir). */
    private DumpResult dump(CriuRpc.ReqType type, String what, DumpOptions options, CriuListener listener)
            throws CriuException, InterruptedException {
        long start = System.nanoTime();
        Path log = options.workDir().resolve(options.logFile());
        Path config = options.workDir().resolve("lazy-pages.conf");
        DumpStats stats;
        try (OpenFd dir = OpenFd.openDirectory(options.imagesDir()); OpenFd work = OpenFd.openDirectory(options.workDir())) {
            // Stats left by an earlier dump in this work dir would be read as this one's.
            Files.deleteIfExists(options.workDir().resolve(DumpStats.FILE));
            if (options.lazy()) {
                Files.writeString(config, options.lazyConfig());
            }
            CriuRpc.CriuReq req = CriuRpc.CriuReq.newBuilder()
                    .setType(type).setOpts(options.toRpc(dir.fd(), work.fd(), config)).build();
            call(what, req, new TreeMap<>(), stderrFileOf(log), log, options.timeout(), listener);
        } catch (IOException e) {
            throw new CriuException("CRIU " + what + " could not start: " + e.getMessage(), null, e);
        }
        try {
            stats = DumpStats.read(options.workDir());
        } catch (IOException e) {
            // The dump itself succeeded: only its counts are unknown.
            LOG.warn("CRIU {}: its page counts are unknown: {}", what, e.getMessage());
            stats = DumpStats.NONE;
        }
        return new DumpResult(log, Duration.ofNanos(System.nanoTime() - start), stats);
    }

    @Override
    public RestoreResult restore(RestoreOptions options, CriuListener listener) throws CriuException, InterruptedException {
        long start = System.nanoTime();
        Path log = options.workDir().resolve(options.logFile());
        String what = "restore from " + options.imagesDir();
        SortedMap<Integer, Integer> extraFds = new TreeMap<>();
        Map<String, Integer> childFds = new LinkedHashMap<>();
        int next = FIRST_INHERIT_FD;
        for (var e : options.inheritFds().entrySet()) {
            extraFds.put(next, e.getValue());
            childFds.put(e.getKey(), next++);
        }
        CriuRpc.CriuResp resp;
        try (OpenFd dir = OpenFd.openDirectory(options.imagesDir()); OpenFd work = OpenFd.openDirectory(options.workDir())) {
            CriuRpc.CriuReq req = CriuRpc.CriuReq.newBuilder()
                    .setType(CriuRpc.ReqType.RESTORE).setOpts(options.toRpc(dir.fd(), work.fd(), childFds)).build();
            resp = call(what, req, extraFds, stderrFileOf(log), log, options.timeout(), listener);
        } catch (IOException e) {
            throw new CriuException("CRIU " + what + " could not start: " + e.getMessage(), null, e);
        }
        if (!resp.hasRestore() || resp.getRestore().getPid() <= 0) {
            throw new CriuException("CRIU " + what + " reported success without the restored PID\n"
                    + CriuLog.quote(log), log, null);
        }
        return new RestoreResult(resp.getRestore().getPid(), log, Duration.ofNanos(System.nanoTime() - start));
    }

    private static Path stderrFileOf(Path log) {
        return log.resolveSibling(log.getFileName() + ".stderr");
    }

    /**
     * Runs one request in a fresh {@code criu swrk}: sends it, answers every NOTIFY after handing it to
     * the listener, and returns CRIU's final, successful answer.
     *
     * <p>An interrupt or the deadline does not kill CRIU at once: killed while it holds the tree
     * (seized, sockets in repair mode), CRIU lets the tree run on with broken sockets. Instead the
     * next NOTIFY is answered with failure, so CRIU rolls back itself (unlocks the sockets and
     * resumes the tree); only if it does not answer within {@link #ABORT_GRACE} is it killed.
     */
    private CriuRpc.CriuResp call(String what, CriuRpc.CriuReq req, SortedMap<Integer, Integer> extraFds,
                                  Path stderr, Path log, Duration timeout, CriuListener listener)
            throws CriuException, InterruptedException, IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        Exception listenerFailure = null;
        String abort = null; // why we stopped cooperating: set on interrupt or timeout
        long abortDeadline = 0;
        boolean interrupted = false;
        String lastPhase = "starting";
        String refusedAt = null; // the first notification answered with failure
        boolean serving = false; // a lazy dump past post-dump: it serves pages until the destination has them all
        try (SwrkProcess swrk = SwrkProcess.spawn(criu, extraFds, stderr)) {
            swrk.send(req);
            while (true) {
                CriuRpc.CriuResp resp;
                try {
                    resp = swrk.receive(abort == null ? deadline : abortDeadline);
                } catch (InterruptedException e) {
                    interrupted = true;
                    if (serving) {
                        // A lazy dump serving pages sends no more notifications: killing it is the only way to stop it.
                        swrk.kill();
                        abort = "interrupted while serving pages";
                        abortDeadline = System.nanoTime() + ABORT_GRACE.toNanos();
                        continue;
                    }
                    if (abort == null) {
                        abort = "interrupted";
                        abortDeadline = System.nanoTime() + ABORT_GRACE.toNanos();
                    }
                    continue;
                } catch (SwrkProcess.CriuTimeoutException e) {
                    if (abort == null) {
                        abort = "no answer within " + timeout.toMillis() + " ms";
                        abortDeadline = System.nanoTime() + ABORT_GRACE.toNanos();
                        continue;
                    }
                    swrk.kill();
                    swrk.close();
                    restoreInterrupt(interrupted);
                    throw failure(what, abort + " (last phase: " + lastPhase + "), and CRIU did not stop within "
                            + ABORT_GRACE.toSeconds() + " s more; criu (pid " + swrk.pid() + ") killed: the tree may "
                            + "be stopped or have TCP sockets in repair mode: roll back with FrozenTree.resume()",
                            log, stderr, listenerFailure);
                }
                if (resp == null) {
                    swrk.close();
                    restoreInterrupt(interrupted);
                    throw failure(what, "criu swrk (pid " + swrk.pid() + ") exited with status "
                            + describeStatus(swrk.exitStatus()) + " during " + lastPhase + " without answering",
                            log, stderr, listenerFailure);
                }
                if (resp.getType() == CriuRpc.ReqType.NOTIFY) {
                    CriuNotification n = new CriuNotification(resp.getNotify().getScript(), resp.getNotify().getPid());
                    lastPhase = n.script();
                    boolean ok = abort == null && listenerFailure == null;
                    if (ok) {
                        try {
                            listener.onNotify(n);
                        } catch (InterruptedException e) {
                            interrupted = true;
                            abort = "interrupted";
                            ok = false;
                        } catch (Exception e) {
                            LOG.warn("CRIU {}: listener for {} failed, CRIU will abort: {}", what, n.script(), e.toString());
                            listenerFailure = e;
                            ok = false;
                        }
                    }
                    if (ok && Thread.interrupted()) {
                        interrupted = true;
                        abort = "interrupted";
                        ok = false;
                    }
                    if (ok && System.nanoTime() > deadline) {
                        abort = "no answer within " + timeout.toMillis() + " ms";
                        ok = false;
                    }
                    if (!ok && refusedAt == null) {
                        refusedAt = n.script();
                    }
                    if (abort != null && abortDeadline == 0) {
                        abortDeadline = System.nanoTime() + ABORT_GRACE.toNanos();
                    }
                    swrk.send(CriuRpc.CriuReq.newBuilder().setType(CriuRpc.ReqType.NOTIFY).setNotifySuccess(ok).build());
                    serving |= ok && req.getOpts().getLazyPages() && "post-dump".equals(n.script());
                    if (serving) {
                        lastPhase = "serving pages";
                    }
                    continue;
                }
                if (resp.getType() != req.getType()) {
                    throw failure(what, "CRIU answered " + resp.getType() + " to a " + req.getType() + " request",
                            log, stderr, listenerFailure);
                }
                if (abort != null) {
                    String outcome = resp.getSuccess()
                            ? "CRIU had already finished" + (resp.hasRestore()
                                    ? ": the restored tree runs, root pid " + resp.getRestore().getPid()
                                    : ": a dump with leave_stopped left the tree stopped (resume or kill it)")
                            : refusedAt != null
                                    ? "CRIU aborted at " + refusedAt + " and rolled back: " + errorOf(resp)
                                    : "CRIU failed on its own: " + errorOf(resp);
                    if (interrupted) {
                        throw new InterruptedException("CRIU " + what + " interrupted; " + outcome);
                    }
                    throw failure(what, abort + "; " + outcome, log, stderr, null);
                }
                if (!resp.getSuccess()) {
                    String reason = errorOf(resp);
                    if (listenerFailure != null) {
                        reason = "the listener failed at " + refusedAt + ": " + listenerFailure.getMessage()
                                + "; CRIU: " + reason;
                    }
                    throw failure(what, reason + " (last phase: " + lastPhase + ")", log, stderr, listenerFailure);
                }
                if (listenerFailure != null) {
                    throw failure(what, "the listener failed at " + refusedAt + " but CRIU went on and succeeded"
                            + (resp.hasRestore() ? "; restored root pid " + resp.getRestore().getPid() : ""),
                            log, stderr, listenerFailure);
                }
                return resp;
            }
        }
    }

    private static void restoreInterrupt(boolean interrupted) {
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    static String errorOf(CriuRpc.CriuResp resp) {
        String reason = resp.hasCrErrmsg() && !resp.getCrErrmsg().isEmpty() ? resp.getCrErrmsg() : "CRIU reported failure";
        if (resp.hasCrErrno() && resp.getCrErrno() != 0) {
            reason += " (" + Libc.C.strerror(resp.getCrErrno()) + ", errno " + resp.getCrErrno() + ")";
        }
        return reason;
    }

    private static CriuException failure(String what, String reason, Path log, Path stderr, Throwable cause) {
        StringBuilder msg = new StringBuilder("CRIU ").append(what).append(" failed: ").append(reason);
        if (log != null) {
            msg.append('\n').append(CriuLog.quote(log));
        }
        String err = stderrTail(stderr);
        if (!err.isEmpty()) {
            msg.append("\n  criu stderr:").append(err);
        }
        return new CriuException(msg.toString(), log, cause);
    }

    /** CRIU writes to stderr only before its log is open (bad options, unusable images dir). */
    private static String stderrTail(Path stderr) {
        if (stderr == null || !Files.isRegularFile(stderr)) {
            return "";
        }
        try {
            List<String> lines = CriuLog.readTail(stderr);
            StringBuilder sb = new StringBuilder();
            lines.subList(Math.max(0, lines.size() - CriuLog.TAIL_LINES), lines.size())
                    .forEach(l -> sb.append("\n    ").append(l));
            return sb.toString();
        } catch (IOException e) {
            return "";
        }
    }

    static String describeStatus(int status) {
        if (status < 0) {
            return "unknown";
        }
        int sig = status & 0x7f;
        return sig == 0 ? Integer.toString((status >> 8) & 0xff) : "killed by signal " + sig;
    }

    @Override
    public String toString() {
        return "criu swrk " + criu;
    }
}
