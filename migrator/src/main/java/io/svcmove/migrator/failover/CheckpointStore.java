package io.svcmove.migrator.failover;

import com.fasterxml.jackson.databind.node.ArrayNode;
import io.svcmove.migrator.control.ControlMessage;
import io.svcmove.migrator.criu.ImageDir;
import io.svcmove.migrator.peer.Messages;
import io.svcmove.migrator.peer.PeerClient;
import io.svcmove.migrator.peer.RequestHandler;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The keeper's side of checkpoints: the last checkpoint of each service another node runs, under
 * {@code state_dir/checkpoints}. They live on disk, not tmpfs, because a checkpoint exists to
 * outlive failures, the keeper's own reboot included; the directories are 0700 (root only) since
 * the images hold the service's memory. Each checkpoint is a directory {@code .ID} with CRIU's
 * images and {@value #META}; the symlink {@code NAME} points at the current one and is replaced by
 * an atomic rename, so a keeper killed at any moment still holds a whole checkpoint. What arrives is
 * encrypted by the node that took it, its key sealed to other nodes ({@link CheckpointCipher}): this
 * node stores and sends back ciphertext, and its record (service name, source, time, sizes, whom
 * the key is sealed to) is all it can read.
 */
public final class CheckpointStore {
    private static final Logger log = LoggerFactory.getLogger(CheckpointStore.class);
    /** Transfer ids of checkpoints start so; anything else arriving is a move's or a recovery's. */
    static final String TRANSFER_PREFIX = "ckpt-";
    static final String META = "svcmove-checkpoint.json";
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]*");

    private final Path dir;
    private final PeerClient peers;

    public CheckpointStore(Path stateDir, PeerClient peers) throws IOException {
        this.dir = stateDir.resolve("checkpoints");
        this.peers = peers;
        Files.createDirectories(dir);
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        removeUnreferenced();
    }

    static boolean isCheckpointTransfer(String transferId) {
        return transferId.startsWith(TRANSFER_PREFIX);
    }

    /** Where a checkpoint's images arrive: a new hidden directory, current only once committed. */
    public Path incoming(String peer, String transferId) throws IOException {
        if (!NAME.matcher(transferId).matches()) {
            throw new IOException("'" + transferId + "' is not a checkpoint transfer id");
        }
        return dir.resolve("." + transferId);
    }

    /** The handlers of the keeper's peer requests. */
    public Map<String, RequestHandler> handlers() {
        return Map.of(CheckpointMessages.Type.COMMIT, Messages.typed(CheckpointMessages.Commit.class, this::commit),
                CheckpointMessages.Type.INFO, Messages.typed(CheckpointMessages.ServiceRef.class, this::info),
                CheckpointMessages.Type.FETCH, Messages.typed(CheckpointMessages.Fetch.class, this::fetch),
                CheckpointMessages.Type.DROP, Messages.typed(CheckpointMessages.ServiceRef.class, this::drop));
    }

    /** A checkpoint has fully arrived: its record is written next to the images and it becomes the current one. */
    synchronized CheckpointMessages.Stored commit(String from, CheckpointMessages.Commit commit) throws IOException {
        String name = serviceName(commit.name());
        Path received = incoming(from, commit.transferId());
        if (!Files.isDirectory(received, LinkOption.NOFOLLOW_LINKS)) {
            throw new IOException("no checkpoint transfer " + commit.transferId() + " arrived on this node");
        }
        if (commit.format() < CheckpointCipher.FORMAT) {
            delete(received);
            throw new IOException("the checkpoint of " + name + " from " + from + " is not encrypted (its agent predates encrypted"
                    + " checkpoints), so " + dir + " does not keep it: upgrade svcmove on " + from);
        }
        Files.write(received.resolve(META), Messages.JSON.writeValueAsBytes(CheckpointMessages.Checkpoint.of(commit, from,
                System.currentTimeMillis())));
        Optional<Path> previous = current(name);
        Path link = dir.resolve(".link-" + commit.transferId());
        Files.createSymbolicLink(link, received.getFileName());
        try {
            Files.move(link, dir.resolve(name), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.deleteIfExists(link);
            throw e;
        }
        if (previous.isPresent() && !previous.get().equals(received)) {
            delete(previous.get());
        }
        log.info("checkpoint of {} from {} stored ({} bytes, taken {} ms ago)", name, from, commit.bytes(),
                System.currentTimeMillis() - commit.takenAt());
        return new CheckpointMessages.Stored(true);
    }

    /** What this node keeps of NAME: its checkpoint's record, or none. */
    synchronized CheckpointMessages.Info info(String from, CheckpointMessages.ServiceRef service) throws IOException {
        Optional<Path> c = current(serviceName(service.name()));
        return new CheckpointMessages.Info(c.isEmpty() ? null : meta(c.get()));
    }

    /** Sends NAME's current checkpoint to the node that asked, under its transfer id; answers with its record. */
    CheckpointMessages.Checkpoint fetch(String from, CheckpointMessages.Fetch fetch) throws Exception {
        Path images;
        CheckpointMessages.Checkpoint meta;
        synchronized (this) {
            String name = serviceName(fetch.name());
            images = current(name).orElseThrow(() -> new IllegalStateException("no checkpoint of " + name + " is kept here"));
            meta = meta(images);
        }
        // A copy on tmpfs: a newer checkpoint committed meanwhile deletes the directory it replaces.
        try (ImageDir copy = ImageDir.create("svcmove-fetch-")) {
            try (Stream<Path> files = Files.list(images)) {
                for (Path f : (Iterable<Path>) files.filter(p -> !p.getFileName().toString().equals(META))::iterator) {
                    Files.copy(f, copy.path().resolve(f.getFileName()));
                }
            }
            Messages.await(peers.sendFiles(from, fetch.transferId(), copy.path(), (s, t) -> {}));
        }
        return meta;
    }

    /** Forgets NAME's checkpoint (the service was stopped on purpose, or its checkpoints went to another keeper). */
    synchronized CheckpointMessages.Dropped drop(String from, CheckpointMessages.ServiceRef service) throws IOException {
        String name = serviceName(service.name());
        Optional<Path> c = current(name);
        Files.deleteIfExists(dir.resolve(name));
        if (c.isPresent()) {
            delete(c.get());
            log.info("dropped the checkpoint of {} (asked by {})", name, from);
        }
        return new CheckpointMessages.Dropped(c.isPresent());
    }

    /** Every checkpoint kept here, for status: service, the node it came from, age. */
    public synchronized ArrayNode kept() throws IOException {
        ArrayNode list = ControlMessage.JSON.createArrayNode();
        try (Stream<Path> entries = Files.list(dir)) {
            for (Path link : (Iterable<Path>) entries.filter(Files::isSymbolicLink).sorted()::iterator) {
                Optional<Path> c = current(link.getFileName().toString());
                if (c.isPresent()) {
                    CheckpointMessages.Checkpoint m = meta(c.get());
                    list.add(ControlMessage.JSON.createObjectNode().put("name", link.getFileName().toString())
                            .put("from", m.from()).put("age_s", (System.currentTimeMillis() - m.takenAt()) / 1000)
                            .put("bytes", m.bytes()).put("freeze_ms", m.freezeMs()));
                }
            }
        }
        return list;
    }

    private Optional<Path> current(String name) throws IOException {
        Path link = dir.resolve(name);
        if (!Files.isSymbolicLink(link)) {
            return Optional.empty();
        }
        Path target = dir.resolve(Files.readSymbolicLink(link));
        return Files.isRegularFile(target.resolve(META)) ? Optional.of(target) : Optional.empty();
    }

    private static CheckpointMessages.Checkpoint meta(Path checkpoint) throws IOException {
        return Messages.JSON.readValue(checkpoint.resolve(META).toFile(), CheckpointMessages.Checkpoint.class);
    }

    private static String serviceName(String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("'" + name + "' is not a service name");
        }
        return name;
    }

    /**
     * At start: transfers that never committed, and checkpoints no link points at, are deleted (they
     * hold memory); checkpoints stored in the clear by an older version are reported.
     */
    private void removeUnreferenced() throws IOException {
        Set<Path> referenced = new HashSet<>();
        try (Stream<Path> entries = Files.list(dir)) {
            for (Path p : (Iterable<Path>) entries::iterator) {
                if (Files.isSymbolicLink(p)) {
                    if (p.getFileName().toString().startsWith(".link-")) {
                        Files.delete(p);
                    } else {
                        referenced.add(dir.resolve(Files.readSymbolicLink(p)).normalize());
                    }
                }
            }
        }
        try (Stream<Path> entries = Files.list(dir)) {
            for (Path p : (Iterable<Path>) entries::iterator) {
                if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS) && !referenced.contains(p.normalize())) {
                    log.warn("removing {}: a checkpoint transfer that never completed", p);
                    delete(p);
                } else if (Files.isRegularFile(p.resolve(META)) && meta(p).format() < CheckpointCipher.FORMAT) {
                    log.warn("{} holds a checkpoint stored in the clear by an older svcmove (its service's memory, readable on this"
                            + " disk); it will not be recovered: its node replaces it at its next checkpoint, or delete it", p);
                }
            }
        }
    }

    private static void delete(Path checkpoint) throws IOException {
        try (Stream<Path> files = Files.list(checkpoint)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Files.delete(f);
            }
        }
        Files.delete(checkpoint);
    }
}
