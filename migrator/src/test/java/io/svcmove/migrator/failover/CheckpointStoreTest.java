package io.svcmove.migrator.failover;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.svcmove.migrator.control.ControlMessage;
import io.svcmove.migrator.peer.Messages;
import io.svcmove.migrator.peer.RequestHandler;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The keeper's peer requests, as a peer sends them (JSON bodies through the registered handlers). */
class CheckpointStoreTest {
    private static final CheckpointMessages.Seal SEAL = new CheckpointMessages.Seal("node3", "0011223344556677", "ZXBo", "d3JhcA==");

    @Test
    void aCommittedCheckpointIsKeptWithItsRecordAndDropped(@TempDir Path state) throws Exception {
        CheckpointStore store = new CheckpointStore(state, null);
        Map<String, RequestHandler> h = store.handlers();
        arrive(store, "ckpt-web-1");
        JsonNode stored = (JsonNode) h.get(CheckpointMessages.Type.COMMIT).handle("node1", Messages.tree(commit(CheckpointCipher.FORMAT, "ckpt-web-1")));
        assertTrue(stored.path("stored").asBoolean(), stored.toString());

        JsonNode info = (JsonNode) h.get(CheckpointMessages.Type.INFO).handle("node2", ControlMessage.JSON.createObjectNode().put("name", "web"));
        CheckpointMessages.Checkpoint c = Messages.read(info, CheckpointMessages.Info.class).checkpoint();
        assertEquals("node1", c.from(), "the keeper records who sent it, not what the commit claims");
        assertEquals(List.of(SEAL), c.sealedTo());
        assertEquals(1700000000000L, c.takenAt());
        assertEquals("ckpt-web-1", c.transferId());
        assertEquals("node3", info.path("checkpoint").path("sealed_to").path(0).path("node").asText(), "snake_case on the wire");

        JsonNode dropped = (JsonNode) h.get(CheckpointMessages.Type.DROP).handle("node1", Messages.tree(new CheckpointMessages.ServiceRef("web")));
        assertTrue(dropped.path("dropped").asBoolean());
        assertNull(store.info("node2", new CheckpointMessages.ServiceRef("web")).checkpoint());
        assertFalse(store.drop("node1", new CheckpointMessages.ServiceRef("web")).dropped(), "a second drop finds nothing");
    }

    @Test
    void aRecordWrittenBeforeTypedMessagesStillReads(@TempDir Path state) throws Exception {
        CheckpointStore store = new CheckpointStore(state, null);
        Path dir = arrive(store, "ckpt-web-2");
        store.commit("node1", commit(CheckpointCipher.FORMAT, "ckpt-web-2"));
        // As the keeper wrote it by hand: the commit's body plus from and stored_at.
        Files.writeString(dir.resolve(CheckpointStore.META), "{\"format\":1,\"transfer_id\":\"ckpt-web-2\",\"name\":\"web\","
                + "\"taken_at\":5,\"freeze_ms\":1.5,\"bytes\":9,\"sealed_to\":[{\"node\":\"node3\",\"key_id\":\"k\",\"ephemeral\":\"e\","
                + "\"wrapped\":\"w\"}],\"from\":\"node1\",\"stored_at\":6}");
        CheckpointMessages.Checkpoint c = store.info("node2", new CheckpointMessages.ServiceRef("web")).checkpoint();
        assertEquals(new CheckpointMessages.Checkpoint(1, "ckpt-web-2", "web", 5, 1.5, 9,
                List.of(new CheckpointMessages.Seal("node3", "k", "e", "w")), "node1", 6), c);
    }

    @Test
    void aCheckpointInTheClearOrOfABadNameIsRefused(@TempDir Path state) throws Exception {
        CheckpointStore store = new CheckpointStore(state, null);
        Path dir = arrive(store, "ckpt-web-3");
        IOException clear = assertThrows(IOException.class, () -> store.commit("node1", commit(0, "ckpt-web-3")));
        assertTrue(clear.getMessage().contains("not encrypted"), clear.getMessage());
        assertFalse(Files.exists(dir), "what arrived in the clear is deleted");
        assertThrows(IllegalArgumentException.class,
                () -> store.handlers().get(CheckpointMessages.Type.INFO).handle("node2", ControlMessage.JSON.createObjectNode()));
        assertThrows(IllegalArgumentException.class, () -> store.info("node2", new CheckpointMessages.ServiceRef("../etc")));
    }

    private static Path arrive(CheckpointStore store, String transferId) throws IOException {
        Path dir = Files.createDirectories(store.incoming("node1", transferId));
        Files.write(dir.resolve("pages-1.img"), new byte[] {1, 2, 3});
        return dir;
    }

    private static CheckpointMessages.Commit commit(int format, String transferId) {
        return new CheckpointMessages.Commit(format, transferId, "web", 1700000000000L, 12.5, 3, List.of(SEAL));
    }
}
