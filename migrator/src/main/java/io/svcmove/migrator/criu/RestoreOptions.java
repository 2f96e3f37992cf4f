package io.svcmove.migrator.criu;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/** What to restore and how; build with {@link #builder(Path, NetworkLock)}. */
public final class RestoreOptions {
    private final Path imagesDir;
    private final Path workDir;
    private final NetworkLock networkLock;
    private final boolean tcpEstablished;
    private final boolean tcpClose;
    private final boolean shellJob;
    private final Map<String, Integer> inheritFds;
    private final int logLevel;
    private final String logFile;
    private final Duration timeout;
    private final boolean lazyPages;

    private RestoreOptions(Builder b) {
        imagesDir = b.imagesDir;
        workDir = b.workDir == null ? b.imagesDir : b.workDir;
        networkLock = b.networkLock;
        tcpEstablished = b.tcpEstablished;
        tcpClose = b.tcpClose;
        shellJob = b.shellJob;
        inheritFds = Collections.unmodifiableMap(new LinkedHashMap<>(b.inheritFds));
        logLevel = b.logLevel;
        logFile = b.logFile;
        timeout = b.timeout;
        lazyPages = b.lazyPages;
    }

    /**
     * @param imagesDir the directory holding a complete dump
     * @param networkLock the same method the dump used (CRIU's unlock must match its lock)
     */
    public static Builder builder(Path imagesDir, NetworkLock networkLock) {
        return new Builder(imagesDir, networkLock);
    }

    public Path imagesDir() {
        return imagesDir;
    }

    /** Where CRIU writes its log and finds a lazy-pages daemon's socket: the images dir unless set apart. */
    public Path workDir() {
        return workDir;
    }

    public String logFile() {
        return logFile;
    }

    public Duration timeout() {
        return timeout;
    }

    /** key → fd of this JVM, in insertion order. */
    public Map<String, Integer> inheritFds() {
        return inheritFds;
    }

    /** @param childFds key → the fd number the JVM fd was given in the criu child */
    CriuRpc.CriuOpts toRpc(int imagesDirFd, int workDirFd, Map<String, Integer> childFds) {
        CriuRpc.CriuOpts.Builder b = CriuRpc.CriuOpts.newBuilder()
                .setImagesDirFd(imagesDirFd)
                .setWorkDirFd(workDirFd)
                .setNetworkLock(networkLock.rpc)
                .setTcpEstablished(tcpEstablished)
                .setTcpClose(tcpClose)
                .setShellJob(shellJob)
                .setLogLevel(logLevel)
                .setLogFile(logFile)
                .setNotifyScripts(true)
                .setLazyPages(lazyPages);
        childFds.forEach((key, fd) -> b.addInheritFd(CriuRpc.InheritFd.newBuilder().setKey(key).setFd(fd)));
        return b.build();
    }

    public static final class Builder {
        private final Path imagesDir;
        private Path workDir;
        private final NetworkLock networkLock;
        private boolean tcpEstablished;
        private boolean tcpClose;
        private boolean shellJob;
        private final Map<String, Integer> inheritFds = new LinkedHashMap<>();
        private int logLevel = 4;
        private String logFile = "restore.log";
        private Duration timeout = Duration.ofMinutes(5);
        private boolean lazyPages;

        private Builder(Path imagesDir, NetworkLock networkLock) {
            this.imagesDir = Objects.requireNonNull(imagesDir, "imagesDir");
            this.networkLock = Objects.requireNonNull(networkLock, "networkLock");
        }

        /** Restore established TCP connections from the images (needs the same addresses). */
        public Builder tcpEstablished(boolean v) {
            tcpEstablished = v;
            return this;
        }

        /** Restores connected TCP sockets shut down, for a dump made with tcpClose: each peer's next segment gets a reset. */
        public Builder tcpClose(boolean v) {
            tcpClose = v;
            return this;
        }

        /** The memory comes from a {@link LazyPagesDaemon} already started on the images directory. */
        public Builder lazyPages(boolean v) {
            lazyPages = v;
            return this;
        }

        public Builder shellJob(boolean v) {
            shellJob = v;
            return this;
        }

        /**
         * Hands CRIU an open fd of this JVM for the external resource {@code key} (e.g. the cell's
         * netns file for the key given to {@link DumpOptions.Builder#externalNetns(long, String)}).
         * The fd stays the caller's: it must remain open until restore returns.
         */
        public Builder inheritFd(String key, int fd) {
            if (key == null || key.isEmpty() || fd < 0) {
                throw new IllegalArgumentException("inheritFd needs a key and an open fd: " + key + " → " + fd);
            }
            if (inheritFds.putIfAbsent(key, fd) != null) {
                throw new IllegalArgumentException("inheritFd key given twice: " + key);
            }
            return this;
        }

        public Builder logLevel(int v) {
            if (v < 0 || v > 4) {
                throw new IllegalArgumentException("CRIU log levels are 0..4: " + v);
            }
            logLevel = v;
            return this;
        }

        /** An existing private directory for CRIU's log, shared with the {@link LazyPagesDaemon} of a lazy restore. */
        public Builder workDir(Path v) {
            workDir = Objects.requireNonNull(v, "workDir");
            return this;
        }

        /** Name of CRIU's log inside the work dir (no '/'). */
        public Builder logFile(String v) {
            logFile = DumpOptions.checkLogFile(v);
            return this;
        }

        /** The whole restore, notifications included; at the deadline criu is killed. */
        public Builder timeout(Duration v) {
            timeout = DumpOptions.checkTimeout(v);
            return this;
        }

        public RestoreOptions build() {
            return new RestoreOptions(this);
        }
    }
}
