package io.svcmove.migrator.failover;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.svcmove.migrator.control.ControlMessage;
import io.svcmove.migrator.criu.ImageDir;
import io.svcmove.migrator.peer.PeerClient;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
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

    /** A checkpoint has fully arrived: its record is written next to the images and it becomes the current one. */
    public synchronized JsonNode commit(String from, JsonNode body) throws IOException {
        String name = serviceName(body);
        Path received = incoming(from, body.path("transfer_id").asText());
        if (!Files.isDirectory(received, LinkOption.NOFOLLOW_LINKS)) {
            throw new IOException("no checkpoint transfer " + body.path("transfer_id").asText() + " arrived on this node");
        }
        if (body.path("format").asInt() < CheckpointCipher.FORMAT) {
            delete(received);
            throw new IOException("the checkpoint of " + name + " from " + from + " is not encrypted (its agent predates encrypted"
                    + " checkpoints), so " + dir + " does not keep it: upgrade svcmove on " + from);
        }
        ObjectNode meta = ((ObjectNode) body.deepCopy()).put("from", from).put("stored_at", System.currentTimeMillis());
        Files.write(received.resolve(META), ControlMessage.JSON.writeValueAsBytes(meta));
        Optional<Path> previous = current(name);
        Path link = dir.resolve(".link-" + body.path("transfer_id").asText());
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
        log.info("checkpoint of {} from {} stored ({} bytes, taken {} ms ago)", name, from, body.path("bytes").asLong(),
                System.currentTimeMillis() - body.path("taken_at").asLong());
        return ControlMessage.JSON.createObjectNode().put("stored", true);
    }

    /** What this node keeps of NAME: {found: false}, or the checkpoint's record. */
    public synchronized JsonNode info(String from, JsonNode body) throws IOException {
        String name = serviceName(body);
        Optional<Path> c = current(name);
        if (c.isEmpty()) {
            return ControlMessage.JSON.createObjectNode().put("found", false);
        }
        return meta(c.get()).put("found", true);
    }

    /** Sends NAME's current checkpoint to the node that asked, under its transfer id; answers with its record. */
    public JsonNode fetch(String from, JsonNode body) throws Exception {
        Path images;
        ObjectNode meta;
        synchronized (this) {
            String name = serviceName(body);
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
            try {
                peers.sendFiles(from, body.path("transfer_id").asText(), copy.path(), (s, t) -> {}).get();
            } catch (ExecutionException e) {
                throw e.getCause() instanceof Exception cause ? cause : e;
            }
        }
        return meta;
    }

    /** Forgets NAME's checkpoint (the service was stopped on purpose, or its checkpoints went to another keeper). */
    public synchronized JsonNode drop(String from, JsonNode body) throws IOException {
        String name = serviceName(body);
        Optional<Path> c = current(name);
        Files.deleteIfExists(dir.resolve(name));
        if (c.isPresent()) {
            delete(c.get());
            log.info("dropped the checkpoint of {} (asked by {})", name, from);
        }
        return ControlMessage.JSON.createObjectNode().put("dropped", c.isPresent());
    }

    /** Every checkpoint kept here, for status: service, the node it came from, age. */
    public synchronized ArrayNode kept() throws IOException {
        ArrayNode list = ControlMessage.JSON.createArrayNode();
        try (Stream<Path> entries = Files.list(dir)) {
            for (Path link : (Iterable<Path>) entries.filter(Files::isSymbolicLink).sorted()::iterator) {
                Optional<Path> c = current(link.getFileName().toString());
                if (c.isPresent()) {
                    ObjectNode m = meta(c.get());
                    list.add(ControlMessage.JSON.createObjectNode().put("name", link.getFileName().toString())
                            .put("from", m.path("from").asText()).put("age_s", (System.currentTimeMillis() - m.path("taken_at").asLong()) / 1000)
                            .put("bytes", m.path("bytes").asLong()).put("freeze_ms", m.path("freeze_ms").asDouble()));
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

    private static ObjectNode meta(Path checkpoint) throws IOException {
        ObjectNode m = (ObjectNode) ControlMessage.JSON.readTree(checkpoint.resolve(META).toFile());
        return m.put("age_ms", System.currentTimeMillis() - m.path("taken_at").asLong());
    }

    private static String serviceName(JsonNode body) {
        String name = body.path("name").asText();
        if (!NAME.matcher(name).matches()) {
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
                } else if (Files.isRegularFile(p.resolve(META)) && meta(p).path("format").asInt() < CheckpointCipher.FORMAT) {
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
