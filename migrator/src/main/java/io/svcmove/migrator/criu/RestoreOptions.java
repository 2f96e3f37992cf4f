package io.svcmove.migrator.criu;

import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/** What to restore and how; build with {@link #builder(Path, NetworkLock)}. */
public final class RestoreOptions extends CriuOptions {
    private final Map<String, Integer> inheritFds;
    private final boolean lazyPages;

    private RestoreOptions(Builder b) {
        super(b);
        inheritFds = Collections.unmodifiableMap(new LinkedHashMap<>(b.inheritFds));
        lazyPages = b.lazyPages;
    }

    /**
     * @param imagesDir the directory holding a complete dump
     * @param networkLock the same method the dump used (CRIU's unlock must match its lock)
     */
    public static Builder builder(Path imagesDir, NetworkLock networkLock) {
        return new Builder(imagesDir, networkLock);
    }

    /** key → fd of this JVM, in insertion order. */
    public Map<String, Integer> inheritFds() {
        return inheritFds;
    }

    /** @param childFds key → the fd number the JVM fd was given in the criu child */
    CriuRpc.CriuOpts toRpc(int imagesDirFd, int workDirFd, Map<String, Integer> childFds) {
        CriuRpc.CriuOpts.Builder b = rpc(imagesDirFd, workDirFd).setLazyPages(lazyPages);
        childFds.forEach((key, fd) -> b.addInheritFd(CriuRpc.InheritFd.newBuilder().setKey(key).setFd(fd)));
        return b.build();
    }

    public static final class Builder extends CriuOptions.Builder<Builder> {
        private final Map<String, Integer> inheritFds = new LinkedHashMap<>();
        private boolean lazyPages;

        private Builder(Path imagesDir, NetworkLock networkLock) {
            super(imagesDir, networkLock, "restore.log");
        }

        @Override
        Builder self() {
            return this;
        }

        /** The memory comes from a {@link CriuDaemon} already started with the same work dir. */
        public Builder lazyPages(boolean v) {
            lazyPages = v;
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

        public RestoreOptions build() {
            return new RestoreOptions(this);
        }
    }
}
