package io.svcmove.migrator.criu;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;

/**
 * A private directory for CRIU images on tmpfs, deleted with everything in it on close.
 * Images hold the service's memory (keys, sessions): they never touch a disk and only root
 * may read them (mode 0700).
 */
public final class ImageDir implements AutoCloseable {
    private static final List<Path> TMPFS = List.of(Path.of("/dev/shm"), Path.of("/run"));

    private final Path path;
    private boolean closed;

    private ImageDir(Path path) {
        this.path = path;
    }

    /** A new directory named {@code prefix…} under /dev/shm, or /run if that is missing. */
    public static ImageDir create(String prefix) throws IOException {
        for (Path base : TMPFS) {
            if (Files.isDirectory(base) && Files.isWritable(base)) {
                return create(base, prefix);
            }
        }
        throw new IOException("neither /dev/shm nor /run is a writable directory; mount a tmpfs on /dev/shm");
    }

    /** A new directory under {@code base}; the caller answers for {@code base} being tmpfs. */
    public static ImageDir create(Path base, String prefix) throws IOException {
        return new ImageDir(Files.createTempDirectory(base, prefix,
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"))));
    }

    public Path path() {
        return path;
    }

    /**
     * Where the images themselves go: {@code images/} inside, made by whoever fills it (a transfer
     * refuses an existing directory). CRIU's logs stay beside it, so the images can be sent while
     * CRIU still writes its log.
     */
    public Path images() {
        return path.resolve("images");
    }

    /**
     * Deletes the image directories named {@code prefix…} that an earlier run left behind (an agent
     * killed mid-move): they hold process memory and must not outlive the move. Returns them.
     */
    public static List<Path> removeLeftovers(String prefix) throws IOException {
        List<Path> removed = new ArrayList<>();
        for (Path base : TMPFS) {
            if (!Files.isDirectory(base)) {
                continue;
            }
            try (var entries = Files.newDirectoryStream(base, prefix + "*")) {
                for (Path dir : entries) {
                    if (Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
                        new ImageDir(dir).close();
                        removed.add(dir);
                    }
                }
            }
        }
        return removed;
    }

    /** Deletes the directory tree; symlinks are removed, never followed. */
    @Override
    public synchronized void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        if (!Files.exists(path)) {
            return;
        }
        Files.walkFileTree(path, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.delete(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
                if (e != null) {
                    throw e;
                }
                Files.delete(dir);
                return FileVisitResult.CONTINUE;
            }
        });
    }

    @Override
    public String toString() {
        return path.toString();
    }
}
