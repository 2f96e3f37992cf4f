package io.svcmove.migrator.criu;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/** What a dump and a restore share: where the images and logs are, how TCP and the network are handled, limits. */
public abstract class CriuOptions {
    private final Path imagesDir;
    private final Path workDir;
    private final NetworkLock networkLock;
    private final boolean tcpEstablished;
    private final boolean tcpClose;
    private final boolean shellJob;
    private final int logLevel;
    private final String logFile;
    private final Duration timeout;

    CriuOptions(Builder<?> b) {
        imagesDir = b.imagesDir;
        workDir = b.workDir == null ? b.imagesDir : b.workDir;
        networkLock = b.networkLock;
        tcpEstablished = b.tcpEstablished;
        tcpClose = b.tcpClose;
        shellJob = b.shellJob;
        logLevel = b.logLevel;
        logFile = b.logFile;
        timeout = b.timeout;
    }

    public Path imagesDir() {
        return imagesDir;
    }

    /** Where CRIU writes its log (a lazy dump its configuration, a lazy restore meets its daemon): the images dir unless set apart. */
    public Path workDir() {
        return workDir;
    }

    public String logFile() {
        return logFile;
    }

    public Duration timeout() {
        return timeout;
    }

    boolean tcpEstablished() {
        return tcpEstablished;
    }

    boolean tcpClose() {
        return tcpClose;
    }

    /** The RPC options both requests set alike. */
    CriuRpc.CriuOpts.Builder rpc(int imagesDirFd, int workDirFd) {
        return CriuRpc.CriuOpts.newBuilder()
                .setImagesDirFd(imagesDirFd)
                .setWorkDirFd(workDirFd)
                .setNetworkLock(networkLock.rpc)
                .setTcpEstablished(tcpEstablished)
                .setTcpClose(tcpClose)
                .setShellJob(shellJob)
                .setLogLevel(logLevel)
                .setLogFile(logFile)
                .setNotifyScripts(true);
    }

    /** The setters both builders share; {@code B} is the concrete builder, so that calls chain. */
    public abstract static class Builder<B extends Builder<B>> {
        private final Path imagesDir;
        private final NetworkLock networkLock;
        private Path workDir;
        private boolean tcpEstablished;
        private boolean tcpClose;
        private boolean shellJob;
        private int logLevel = 4;
        private String logFile;
        private Duration timeout = Duration.ofMinutes(5);

        Builder(Path imagesDir, NetworkLock networkLock, String logFile) {
            this.imagesDir = Objects.requireNonNull(imagesDir, "imagesDir");
            this.networkLock = Objects.requireNonNull(networkLock, "networkLock");
            this.logFile = logFile;
        }

        abstract B self();

        /** Dump established TCP connections (in repair mode), or restore them from the images (same addresses needed). */
        public B tcpEstablished(boolean v) {
            tcpEstablished = v;
            return self();
        }

        /**
         * Dump: connected TCP sockets are left out of the images (never put in repair mode, so the
         * live service's connections are not touched). Restore: they come back shut down, each
         * peer's next segment getting a reset. Both sides must ask for it, or CRIU refuses.
         */
        public B tcpClose(boolean v) {
            tcpClose = v;
            return self();
        }

        /** The tree is a job of a shell (it has a controlling terminal it does not own). */
        public B shellJob(boolean v) {
            shellJob = v;
            return self();
        }

        public B logLevel(int v) {
            if (v < 0 || v > 4) {
                throw new IllegalArgumentException("CRIU log levels are 0..4: " + v);
            }
            logLevel = v;
            return self();
        }

        /**
         * An existing private directory for CRIU's log: set apart from the images when they are read
         * while CRIU still runs (a lazy dump logs on while it serves pages), and shared with the
         * {@link CriuDaemon} of a lazy restore.
         */
        public B workDir(Path v) {
            workDir = Objects.requireNonNull(v, "workDir");
            return self();
        }

        /** Name of CRIU's log inside the work dir (no '/'). */
        public B logFile(String v) {
            if (v == null || v.isEmpty() || v.contains("/")) {
                throw new IllegalArgumentException("CRIU's log file is a plain name inside the work dir: '" + v + "'");
            }
            logFile = v;
            return self();
        }

        /** The whole call, notifications included; at the deadline criu is killed. */
        public B timeout(Duration v) {
            if (v == null || v.isNegative() || v.isZero()) {
                throw new IllegalArgumentException("timeout must be positive: " + v);
            }
            timeout = v;
            return self();
        }
    }
}
