package io.svcmove.migrator.criu;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** What to dump and how; build with {@link #builder(Path, long, NetworkLock)}. */
public final class DumpOptions {
    private static final Pattern NS_LINK = Pattern.compile("net:\\[(\\d+)]");

    private final Path imagesDir;
    private final Path workDir;
    private final long pid;
    private final NetworkLock networkLock;
    private final boolean tcpEstablished;
    private final boolean tcpClose;
    private final boolean leaveStopped;
    private final boolean leaveRunning;
    private final boolean shellJob;
    private final List<String> external;
    private final int logLevel;
    private final String logFile;
    private final Duration timeout;
    private final String lazyAddress;
    private final int lazyPort;
    private final PageServerTls lazyTls;

    private DumpOptions(Builder b) {
        if (b.leaveStopped && b.leaveRunning) {
            throw new IllegalArgumentException("leaveStopped and leaveRunning exclude each other: keep the tree "
                    + "frozen for a move (leaveStopped) or let it run on (leaveRunning), not both");
        }
        if (b.tcpEstablished && b.tcpClose) {
            throw new IllegalArgumentException("tcpEstablished and tcpClose exclude each other: dump the connections to"
                    + " restore them live (a move), or leave them out to restore them closed (a checkpoint)");
        }
        imagesDir = b.imagesDir;
        workDir = b.workDir == null ? b.imagesDir : b.workDir;
        pid = b.pid;
        networkLock = b.networkLock;
        tcpEstablished = b.tcpEstablished;
        tcpClose = b.tcpClose;
        leaveStopped = b.leaveStopped;
        leaveRunning = b.leaveRunning;
        shellJob = b.shellJob;
        external = List.copyOf(b.external);
        logLevel = b.logLevel;
        logFile = b.logFile;
        timeout = b.timeout;
        lazyAddress = b.lazyAddress;
        lazyPort = b.lazyPort;
        lazyTls = b.lazyTls;
    }

    /**
     * @param imagesDir an existing, private directory for the images (see {@link ImageDir})
     * @param pid the root of the tree, as seen from the caller's PID namespace
     * @param networkLock chosen deliberately: svcmove passes {@link NetworkLock#SKIP} and holds traffic itself
     */
    public static Builder builder(Path imagesDir, long pid, NetworkLock networkLock) {
        return new Builder(imagesDir, pid, networkLock);
    }

    public Path imagesDir() {
        return imagesDir;
    }

    /** Where CRIU writes its log (and a lazy dump its configuration): the images dir unless set apart. */
    public Path workDir() {
        return workDir;
    }

    public long pid() {
        return pid;
    }

    public String logFile() {
        return logFile;
    }

    public Duration timeout() {
        return timeout;
    }

    public boolean leaveStopped() {
        return leaveStopped;
    }

    /** Whether the dump serves the memory lazily (post-copy) rather than writing it into the images. */
    public boolean lazy() {
        return lazyAddress != null;
    }

    /** CRIU reads a lazy page server's address only from a configuration file (RPC's is for eager page servers). */
    String lazyConfig() {
        return "address " + lazyAddress + "\n";
    }

    /** @param configFile the file holding {@link #lazyConfig()}, for a lazy dump */
    CriuRpc.CriuOpts toRpc(int imagesDirFd, int workDirFd, Path configFile) {
        CriuRpc.CriuOpts.Builder b = CriuRpc.CriuOpts.newBuilder()
                .setImagesDirFd(imagesDirFd)
                .setWorkDirFd(workDirFd)
                .setPid(Math.toIntExact(pid))
                .setNetworkLock(networkLock.rpc)
                .setTcpEstablished(tcpEstablished)
                .setTcpClose(tcpClose)
                .setLeaveStopped(leaveStopped)
                .setLeaveRunning(leaveRunning)
                .setShellJob(shellJob)
                .addAllExternal(external)
                .setLogLevel(logLevel)
                .setLogFile(logFile)
                .setNotifyScripts(true);
        if (lazy()) {
            b.setLazyPages(true).setPs(CriuRpc.PageServerInfo.newBuilder().setPort(lazyPort))
                    .setConfigFile(configFile.toString()).setTls(true).setTlsCacert(lazyTls.ca().toString())
                    .setTlsCert(lazyTls.cert().toString()).setTlsKey(lazyTls.key().toString())
                    // CRIU would match the client's certificate against the server's own address: any node the CA signed may fetch.
                    .setTlsNoCnVerify(true);
        }
        return b.build();
    }

    public static final class Builder {
        private final Path imagesDir;
        private Path workDir;
        private final long pid;
        private final NetworkLock networkLock;
        private boolean tcpEstablished;
        private boolean tcpClose;
        private boolean leaveStopped;
        private boolean leaveRunning;
        private boolean shellJob;
        private final List<String> external = new ArrayList<>();
        private int logLevel = 4;
        private String logFile = "dump.log";
        private Duration timeout = Duration.ofMinutes(5);
        private String lazyAddress;
        private int lazyPort;
        private PageServerTls lazyTls;

        private Builder(Path imagesDir, long pid, NetworkLock networkLock) {
            this.imagesDir = Objects.requireNonNull(imagesDir, "imagesDir");
            if (pid <= 1 || pid > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("not a PID that can be dumped: " + pid);
            }
            this.pid = pid;
            this.networkLock = Objects.requireNonNull(networkLock, "networkLock");
        }

        /** Dump established TCP connections (they are put in repair mode). */
        public Builder tcpEstablished(boolean v) {
            tcpEstablished = v;
            return this;
        }

        /**
         * Leaves connected TCP sockets out of the images (never put in repair mode, so the live
         * service's connections are not touched); the restore must then ask for them closed too
         * ({@link RestoreOptions.Builder#tcpClose(boolean)}): CRIU refuses otherwise.
         */
        public Builder tcpClose(boolean v) {
            tcpClose = v;
            return this;
        }

        /**
         * Keep the tree frozen after the dump, until {@link FrozenTree#resume()} or {@link FrozenTree#kill()}.
         * CRIU sends SIGSTOP as it lets go, so the stop may land just after dump() returns; its TCP
         * sockets are in repair mode from the dump on, so nothing reaches the peers meanwhile.
         */
        public Builder leaveStopped(boolean v) {
            leaveStopped = v;
            return this;
        }

        /**
         * Post-copy: the images get everything but the memory, which CRIU then serves from the
         * frozen tree on {@code address:port} (TLS, client certificate required) until a {@code
         * criu lazy-pages} has fetched every page; only then does {@link Criu#dump} return.
         */
        public Builder lazyPages(String address, int port, PageServerTls tls) {
            if (port <= 0 || port > 65535) {
                throw new IllegalArgumentException("not a TCP port: " + port);
            }
            lazyAddress = Objects.requireNonNull(address, "address");
            lazyPort = port;
            lazyTls = Objects.requireNonNull(tls, "tls");
            return this;
        }

        /** Let the tree run on after the dump (a snapshot, not a move). */
        public Builder leaveRunning(boolean v) {
            leaveRunning = v;
            return this;
        }

        /** The tree is a job of a shell (it has a controlling terminal it does not own). */
        public Builder shellJob(boolean v) {
            shellJob = v;
            return this;
        }

        /** A raw CRIU {@code --external} value, e.g. {@code net[4026532008]:cell}. */
        public Builder external(String value) {
            external.add(Objects.requireNonNull(value));
            return this;
        }

        /**
         * Marks the network namespace with this inode external under {@code key}: CRIU neither dumps
         * nor rebuilds it, and the restore must pass an fd of the target netns with
         * {@link RestoreOptions.Builder#inheritFd(String, int)} under the same key.
         */
        public Builder externalNetns(long inode, String key) {
            return external("net[" + inode + "]:" + key);
        }

        /** As {@link #externalNetns(long, String)}, for the network namespace that {@code pid} is in. */
        public Builder externalNetnsOf(long pid, String key) throws IOException {
            return externalNetns(netnsInode(pid), key);
        }

        public Builder logLevel(int v) {
            if (v < 0 || v > 4) {
                throw new IllegalArgumentException("CRIU log levels are 0..4: " + v);
            }
            logLevel = v;
            return this;
        }

        /**
         * An existing private directory for CRIU's log: set apart from the images when they are read
         * while CRIU still runs (a lazy dump logs on while it serves pages).
         */
        public Builder workDir(Path v) {
            workDir = Objects.requireNonNull(v, "workDir");
            return this;
        }

        /** Name of CRIU's log inside the work dir (no '/'). */
        public Builder logFile(String v) {
            logFile = checkLogFile(v);
            return this;
        }

        /** The whole dump, notifications included; at the deadline criu is killed. */
        public Builder timeout(Duration v) {
            timeout = checkTimeout(v);
            return this;
        }

        public DumpOptions build() {
            return new DumpOptions(this);
        }
    }

    static long netnsInode(long pid) throws IOException {
        Path link = Path.of("/proc", Long.toString(pid), "ns", "net");
        String target = Files.readSymbolicLink(link).toString();
        Matcher m = NS_LINK.matcher(target);
        if (!m.matches()) {
            throw new IOException(link + " points to '" + target + "', not net:[inode]");
        }
        return Long.parseLong(m.group(1));
    }

    static String checkLogFile(String v) {
        if (v == null || v.isEmpty() || v.contains("/")) {
            throw new IllegalArgumentException("CRIU's log file is a plain name inside the images dir: '" + v + "'");
        }
        return v;
    }

    static Duration checkTimeout(Duration v) {
        if (v == null || v.isNegative() || v.isZero()) {
            throw new IllegalArgumentException("timeout must be positive: " + v);
        }
        return v;
    }
}
