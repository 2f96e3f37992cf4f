package io.svcmove.migrator.service;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The services a node holds, one JSON file each under {@code state_dir/services}, written
 * atomically and durably (write, fsync, rename, fsync the directory) so that neither an agent
 * killed mid-write nor a node that loses power leaves half a record, or an older one than it acted on.
 */
public final class ServiceRegistry {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final Path dir;

    public ServiceRegistry(Path stateDir) throws IOException {
        this.dir = stateDir.resolve("services");
        Files.createDirectories(dir);
        Files.setPosixFilePermissions(stateDir, PosixFilePermissions.fromString("rwx------"));
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
    }

    public synchronized void save(ServiceRecord r) {
        Path tmp = dir.resolve("." + r.name() + ".tmp");
        try {
            try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                out.write(ByteBuffer.wrap(JSON.writeValueAsBytes(r)));
                out.force(true);
            }
            try {
                Files.move(tmp, file(r.name()), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file(r.name()), StandardCopyOption.REPLACE_EXISTING);
            }
            syncDir();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the state of " + r.name() + " to " + dir, e);
        }
    }

    public synchronized Optional<ServiceRecord> find(String name) {
        Path f = file(name);
        if (!Files.exists(f)) {
            return Optional.empty();
        }
        try {
            return Optional.of(JSON.readValue(f.toFile(), ServiceRecord.class));
        } catch (IOException e) {
            throw new UncheckedIOException("the state file " + f + " is unreadable", e);
        }
    }

    public synchronized List<ServiceRecord> all() {
        List<ServiceRecord> out = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : (Iterable<Path>) files.filter(p -> p.toString().endsWith(".json")).sorted()::iterator) {
                out.add(JSON.readValue(f.toFile(), ServiceRecord.class));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the services under " + dir, e);
        }
        return out;
    }

    public synchronized void remove(String name) {
        try {
            if (Files.deleteIfExists(file(name))) {
                syncDir();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove the state of " + name, e);
        }
    }

    /** A rename or delete is durable only once the directory holding it is. */
    private void syncDir() throws IOException {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        }
    }

    private Path file(String name) {
        return dir.resolve(name + ".json");
    }
}
