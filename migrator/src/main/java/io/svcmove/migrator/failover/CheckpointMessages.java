package io.svcmove.migrator.failover;

import java.util.List;

/**
 * The peer messages of checkpoints and recovery, one record per request and reply, each field named
 * once (snake_case on the wire, {@link io.svcmove.migrator.peer.Messages}). Public: the agent
 * registers their handlers from its own package.
 */
public final class CheckpointMessages {
    private CheckpointMessages() {}

    /** Peer request types of checkpoints. */
    public static final class Type {
        public static final String COMMIT = "checkpoint.commit";
        public static final String INFO = "checkpoint.info";
        public static final String FETCH = "checkpoint.fetch";
        public static final String DROP = "checkpoint.drop";
        public static final String STATE = "checkpoint.state";
        public static final String RECOVER = "checkpoint.recover";
        public static final String RECIPIENT = "checkpoint.recipient";

        private Type() {}
    }

    /** A checkpoint's data key sealed to one node's public key ({@link CheckpointCipher#seal}); all of it base64 but the names. */
    public record Seal(String node, String keyId, String ephemeral, String wrapped) {}

    /** The images of NAME's checkpoint arrived under {@code transferId}: the keeper keeps them as its current checkpoint. */
    public record Commit(int format, String transferId, String name, long takenAt, double freezeMs, long bytes, List<Seal> sealedTo) {}

    public record Stored(boolean stored) {}

    /**
     * What a keeper knows of a checkpoint it keeps, and all it can read of it: the commit, the node it
     * came from and when it was stored. Also its record on disk, beside the images.
     */
    public record Checkpoint(int format, String transferId, String name, long takenAt, double freezeMs, long bytes,
            List<Seal> sealedTo, String from, long storedAt) {
        public Checkpoint {
            sealedTo = sealedTo == null ? List.of() : List.copyOf(sealedTo);
        }

        static Checkpoint of(Commit c, String from, long storedAt) {
            return new Checkpoint(c.format(), c.transferId(), c.name(), c.takenAt(), c.freezeMs(), c.bytes(), c.sealedTo(), from, storedAt);
        }
    }

    /** For info, drop, state and recover: a service, by name. */
    public record ServiceRef(String name) {}

    /** What a keeper keeps of a service: its current checkpoint, or null. */
    public record Info(Checkpoint checkpoint) {}

    /** Send NAME's checkpoint back under {@code transferId}; the answer is its {@link Checkpoint}. */
    public record Fetch(String name, String transferId) {}

    public record Dropped(boolean dropped) {}

    /** Whether a service runs on a node: its process in its cell, a record without it, or no record. */
    public enum Presence { RUNNING, DEAD, ABSENT }

    public record State(String node, Presence state) {}

    /** A node's certificate (PEM), the key a checkpoint's key is sealed to. */
    public record Recipient(String node, String certificate) {}
}
