package io.svcmove.migrator.criu;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A raw file descriptor of this JVM, e.g. of a netns file to hand to CRIU with
 * {@link RestoreOptions.Builder#inheritFd(String, int)}. Opened close-on-exec.
 */
public final class OpenFd implements AutoCloseable {
    private int fd;

    private OpenFd(int fd) {
        this.fd = fd;
    }

    /** Opens {@code path} read-only (a netns file such as /run/netns/NAME or /proc/PID/ns/net). */
    public static OpenFd open(Path path) throws IOException {
        return new OpenFd(Libc.openOrThrow(path.toString(), Libc.O_RDONLY, 0));
    }

    /** For writing, e.g. a pipe's write end through /proc/PID/fd/N, to hand to a restored tree. */
    public static OpenFd openForWriting(Path path) throws IOException {
        return new OpenFd(Libc.openOrThrow(path.toString(), Libc.O_WRONLY, 0));
    }

    /** For appending, created (with {@code mode}) if absent: a node-local log a restored tree writes on into. */
    public static OpenFd openForAppending(Path path, int mode) throws IOException {
        return new OpenFd(Libc.openOrThrow(path.toString(), Libc.O_WRONLY | Libc.O_APPEND | Libc.O_CREAT, mode));
    }

    static OpenFd openDirectory(Path path) throws IOException {
        try {
            return new OpenFd(Libc.openOrThrow(path.toString(), Libc.O_RDONLY | Libc.O_DIRECTORY, 0));
        } catch (IOException e) {
            throw new IOException("images dir: " + e.getMessage() + "; create it first (ImageDir.create)", e);
        }
    }

    public int fd() {
        if (fd < 0) {
            throw new IllegalStateException("fd already closed");
        }
        return fd;
    }

    @Override
    public void close() {
        if (fd >= 0) {
            Libc.C.close(fd);
            fd = -1;
        }
    }
}
