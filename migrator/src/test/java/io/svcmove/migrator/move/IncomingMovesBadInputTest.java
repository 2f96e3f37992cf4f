package io.svcmove.migrator.move;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.svcmove.migrator.config.AgentConfig;
import io.svcmove.migrator.peer.Messages;
import io.svcmove.migrator.peer.PeerCallException;
import io.svcmove.migrator.peer.PeerClient;
import io.svcmove.migrator.peer.PeerServer;
import io.svcmove.migrator.pki.ClusterPki;
import io.svcmove.migrator.pki.NodeIdentity;
import io.svcmove.migrator.service.MoveStage;
import io.svcmove.migrator.service.ServiceRecord;
import io.svcmove.migrator.service.ServiceRegistry;
import io.svcmove.vip.Cells;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The destination's move handlers, over the real mutual-TLS peer channel on loopback, given bad or
 * late requests: each gets a clear answer and nothing of the service's changes.
 */
class IncomingMovesBadInputTest {
    private static final Duration T = Duration.ofSeconds(10);
    private static final String ID = "web-0a1b2c3d";
    @TempDir Path pki;
    @TempDir Path state;
    private final ExecutorService executor = Executors.newCachedThreadPool();
    private ServiceRegistry registry;
    private PeerServer server;
    private PeerClient client;

    @BeforeEach
    void destination() throws Exception {
        InetAddress lo = InetAddress.getLoopbackAddress();
        ClusterPki.createCa(pki);
        ClusterPki.issueNode(pki, "node1", List.of(lo));
        ClusterPki.issueNode(pki, "node2", List.of(lo));
        AgentConfig config = new AgentConfig("node2", "127.0.0.1:0", null, state.toString(), state.resolve("log").toString(), null, null,
                null, null, null, null, null);
        registry = new ServiceRegistry(state);
        IncomingMoves incoming = new IncomingMoves(() -> config, IncomingMoves.Effects.on(new Cells("node2"), null, null, null, null, null),
                registry, "4.2", FaultInjection.OFF);
        server = new PeerServer(NodeIdentity.load(pki, "node2"), Set.of("node1")::contains, executor);
        incoming.handlers().forEach(server::registerHandler);
        InetSocketAddress at = server.bind(new InetSocketAddress(lo, 0));
        client = new PeerClient(NodeIdentity.load(pki, "node1"), Map.of("node2", at), executor);
    }

    @AfterEach
    void close() throws Exception {
        client.close();
        server.close();
        executor.shutdownNow();
    }

    private JsonNode call(String type, String body) throws Exception {
        try {
            return client.call("node2", type, Messages.JSON.readTree(body), T).get();
        } catch (ExecutionException e) {
            throw (Exception) e.getCause();
        }
    }

    private ServiceRecord arrived(MoveStage stage) {
        ServiceRecord r = new ServiceRecord("web", "node2", "198.18.0.100/24", "02:5c:c6:12:00:64", "eth0", null, List.of("nginx"),
                Map.of(), "/", 4242, 0, "node2.web", 0, null, null, null, null, null, new ServiceRecord.Arrival(ID, "node1", stage));
        registry.save(r);
        return r;
    }

    @Test
    void aCommitForAnUnknownMoveIsRefusedClearly() {
        PeerCallException e = assertThrows(PeerCallException.class, () -> call("move.commit", "{\"move_id\":\"web-ffffffff\"}"));
        assertTrue(e.remoteMessage().contains("no move web-ffffffff arrived on node2"), e.getMessage());
        assertTrue(registry.all().isEmpty());
    }

    @Test
    void aMalformedRequestNamesWhatIsMissing() {
        PeerCallException e = assertThrows(PeerCallException.class, () -> call("move.abort", "{}"));
        assertTrue(e.remoteMessage().contains("move_id is missing"), e.getMessage());
    }

    @Test
    void aReplayedCommitGetsTheFirstCommitsAnswer() throws Exception {
        arrived(MoveStage.ARRIVED);
        JsonNode first = call("move.commit", "{\"move_id\":\"" + ID + "\",\"name\":\"web\"}");
        JsonNode again = call("move.commit", "{\"move_id\":\"" + ID + "\",\"name\":\"web\"}");
        assertEquals(first, again);
        assertTrue(first.path("kept").asBoolean(), first.toString());
        assertEquals(MoveStage.COMMITTED, registry.find("web").orElseThrow().arrival().stage());
    }

    @Test
    void anAbortAfterTheServiceArrivedIsRefusedAndKillsNothing() throws Exception {
        ServiceRecord before = arrived(MoveStage.ARRIVED);
        PeerCallException e = assertThrows(PeerCallException.class, () -> call("move.abort", "{\"move_id\":\"" + ID + "\"}"));
        assertTrue(e.remoteMessage().contains("runs here and is not rolled back"), e.getMessage());
        assertEquals(before, registry.find("web").orElseThrow());
        call("move.commit", "{\"move_id\":\"" + ID + "\"}");
        assertThrows(PeerCallException.class, () -> call("move.abort", "{\"move_id\":\"" + ID + "\"}"));
        assertTrue(registry.find("web").isPresent());
    }

    @Test
    void aClaimForAMoveThatNeverCameHereSaysSo() throws Exception {
        JsonNode r = call("move.claim", "{\"move_id\":\"web-12345678\",\"name\":\"web\"}");
        assertFalse(r.path("kept").asBoolean(true), r.toString());
    }
}
