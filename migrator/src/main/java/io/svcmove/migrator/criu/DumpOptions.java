package io.svcmove.migrator.criu;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** What to dump and how; build with {@link #builder(Path, long, NetworkLock)}. */
public final class DumpOptions extends CriuOptions {
    private static final Pattern NS_LINK = Pattern.compile("net:\\[(\\d+)]");

    private final long pid;
    private final boolean leaveStopped;
    private final boolean leaveRunning;
    private final List<String> external;
    private final String pagesAddress;
    private final int pagesPort;
    private final PageServerTls pagesTls;
    private final boolean lazyPages;
    private final boolean trackMem;
    private final String parent;

    private DumpOptions(Builder b) {
        super(b);
        if (b.leaveStopped && b.leaveRunning) {
            throw new IllegalArgumentException("leaveStopped and leaveRunning exclude each other: keep the tree "
                    + "frozen for a move (leaveStopped) or let it run on (leaveRunning), not both");
        }
        if (tcpEstablished() && tcpClose()) {
            throw new IllegalArgumentException("tcpEstablished and tcpClose exclude each other: dump the connections to"
                    + " restore them live (a move), or leave them out to restore them closed (a checkpoint)");
        }
        pid = b.pid;
        leaveStopped = b.leaveStopped;
        leaveRunning = b.leaveRunning;
        external = List.copyOf(b.external);
        pagesAddress = b.pagesAddress;
        pagesPort = b.pagesPort;
        pagesTls = b.pagesTls;
        lazyPages = b.lazyPages;
        trackMem = b.trackMem;
        parent = b.parent;
        if (parent != null && !trackMem) {
            throw new IllegalArgumentException("parent images without trackMem: CRIU would dump every page again");
        }
    }

    /**
     * @param imagesDir an existing, private directory for the images (see {@link ImageDir})
     * @param pid the root of the tree, as seen from the caller's PID namespace
     * @param networkLock chosen deliberately: svcmove passes {@link NetworkLock#SKIP} and holds traffic itself
     */
    public static Builder builder(Path imagesDir, long pid, NetworkLock networkLock) {
        return new Builder(imagesDir, pid, networkLock);
    }

    public long pid() {
        return pid;
    }

    public boolean leaveStopped() {
        return leaveStopped;
    }

    /** Whether the dump serves the memory lazily (post-copy) rather than writing it into the images. */
    public boolean lazy() {
        return lazyPages;
    }

    /** Whether the dump sends the memory to a page server (a streamed eager move) rather than writing it into the images. */
    public boolean streamed() {
        return pagesAddress != null && !lazyPages;
    }

    /** The previous pre-dump's images, relative to the images dir, or null. */
    public String parent() {
        return parent;
    }

    /** CRIU reads a lazy page server's address only from a configuration file (RPC's is for eager page servers). */
    String lazyConfig() {
        return "address " + pagesAddress + "\n";
    }

    /** @param configFile the file holding {@link #lazyConfig()}, for a lazy dump */
    CriuRpc.CriuOpts toRpc(int imagesDirFd, int workDirFd, Path configFile) {
        CriuRpc.CriuOpts.Builder b = rpc(imagesDirFd, workDirFd)
                .setPid(Math.toIntExact(pid))
                .setLeaveStopped(leaveStopped)
                .setLeaveRunning(leaveRunning)
                .setTrackMem(trackMem)
                .addAllExternal(external);
        if (parent != null) {
            b.setParentImg(parent);
        }
        if (pagesAddress != null) {
            b.setTls(true).setTlsCacert(pagesTls.ca().toString()).setTlsCert(pagesTls.cert().toString())
                    .setTlsKey(pagesTls.key().toString());
        }
        if (lazy()) {
            b.setLazyPages(true).setPs(CriuRpc.PageServerInfo.newBuilder().setPort(pagesPort)).setConfigFile(configFile.toString())
                    // CRIU would match the client's certificate against the server's own address: any node the CA signed may fetch.
                    .setTlsNoCnVerify(true);
        } else if (streamed()) {
            // This side is the client: CRIU checks the server's certificate against the address it dials.
            b.setPs(CriuRpc.PageServerInfo.newBuilder().setAddress(pagesAddress).setPort(pagesPort));
        }
        return b.build();
    }

    public static final class Builder extends CriuOptions.Builder<Builder> {
        private final long pid;
        private boolean leaveStopped;
        private boolean leaveRunning;
        private final List<String> external = new ArrayList<>();
        private String pagesAddress;
        private int pagesPort;
        private PageServerTls pagesTls;
        private boolean lazyPages;
        private boolean trackMem;
        private String parent;

        private Builder(Path imagesDir, long pid, NetworkLock networkLock) {
            super(imagesDir, networkLock, "dump.log");
            if (pid <= 1 || pid > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("not a PID that can be dumped: " + pid);
            }
            this.pid = pid;
        }

        @Override
        Builder self() {
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

        /** Let the tree run on after the dump (a snapshot, not a move). */
        public Builder leaveRunning(boolean v) {
            leaveRunning = v;
            return this;
        }

        /**
         * Post-copy: the images get everything but the memory, which CRIU then serves from the
         * frozen tree on {@code address:port} (TLS, client certificate required) until a {@code
         * criu lazy-pages} has fetched every page; only then does {@link Criu#dump} return.
         */
        public Builder lazyPages(String address, int port, PageServerTls tls) {
            lazyPages = true;
            return pages(address, port, tls);
        }

        /**
         * A streamed eager dump: the memory goes, as CRIU reads it, to the {@code criu page-server}
         * on {@code address:port} (TLS: {@code tls}'s certificate presented, the server's checked
         * against its CA and {@code address}); the images get everything else.
         */
        public Builder streamPages(String address, int port, PageServerTls tls) {
            lazyPages = false;
            return pages(address, port, tls);
        }

        private Builder pages(String address, int port, PageServerTls tls) {
            if (port <= 0 || port > 65535) {
                throw new IllegalArgumentException("not a TCP port: " + port);
            }
            pagesAddress = Objects.requireNonNull(address, "address");
            pagesPort = port;
            pagesTls = Objects.requireNonNull(tls, "tls");
            return this;
        }

        /**
         * Pre-copy: CRIU resets the tree's soft-dirty bits ({@code --track-mem}), so that the next
         * dump with this one as {@link #parent} takes only the pages written since.
         */
        public Builder trackMem(boolean v) {
            trackMem = v;
            return this;
        }

        /**
         * The previous pre-dump's images ({@code --prev-images-dir}), relative to this dump's images
         * dir: CRIU links them as {@code parent} and leaves out the pages they hold unchanged.
         */
        public Builder parent(String relative) {
            if (relative.isEmpty() || relative.startsWith("/")) {
                throw new IllegalArgumentException("the parent images are a path relative to the images dir: '" + relative + "'");
            }
            parent = relative;
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
}
