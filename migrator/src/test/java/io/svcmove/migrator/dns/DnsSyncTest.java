package io.svcmove.migrator.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.svcmove.migrator.config.AgentConfig;
import io.svcmove.migrator.control.ControlException;
import io.svcmove.migrator.control.ControlMessage;
import io.svcmove.migrator.control.Outcome;
import io.svcmove.migrator.peer.PeerClient;
import io.svcmove.migrator.pki.ClusterPki;
import io.svcmove.migrator.pki.NodeIdentity;
import io.svcmove.migrator.service.ServiceRegistry;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `svcmove dns sync` asks the peers in force, as the last reload left them. This node's peer client
 * knows no peer, so each peer asked fails the sync naming it; with none to ask, it goes on to the
 * zone, where the DNS server (a closed port) fails it.
 */
class DnsSyncTest {
    @TempDir Path dir;

    @Test
    void aSyncAsksThePeersAReloadLeftNotThoseTheAgentStartedWith() throws Exception {
        ClusterPki.createCa(dir);
        ClusterPki.issueNode(dir, "node1", List.of());
        Path key = dir.resolve("tsig.key");
        Files.writeString(key, "key \"svcmove-key\" {\n\talgorithm hmac-sha256;\n\tsecret \"c2VjcmV0LXNlY3JldA==\";\n};\n");
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        AgentConfig started = new AgentConfig("node1", "127.0.0.1:7301", null, dir.toString(), dir.toString(), null, null,
                new AgentConfig.Dns("127.0.0.1:" + closed, "svc.test.", key.toString(), null, null, null, "1s", null), null, null, null,
                List.of(new AgentConfig.Peer("node3", "127.0.0.1:7303")));
        AtomicReference<AgentConfig> inForce = new AtomicReference<>(started);
        ExecutorService executor = Executors.newCachedThreadPool();
        try (PeerClient peers = new PeerClient(NodeIdentity.load(dir, "node1"), Map.of(), executor)) {
            DnsSync sync = new DnsSync(inForce::get, new ServiceRegistry(dir), peers);

            assertEquals("cannot list the services of node3", unavailable(sync));
            inForce.set(started.withPeersAndTls(List.of(new AgentConfig.Peer("node2", "127.0.0.1:7302")), started.tls()));
            assertEquals("cannot list the services of node2", unavailable(sync), "node3 removed, node2 added by the reload");
            inForce.set(started.withPeersAndTls(List.of(), started.tls()));
            ControlException zone = assertThrows(ControlException.class, () -> sync.sync(dryRun()));
            assertEquals(Outcome.FAILED, zone.outcome(), zone.getMessage());
            assertTrue(zone.getMessage().startsWith("cannot read the names svcmove owns"), zone.getMessage());
        } finally {
            executor.shutdownNow();
        }
    }

    /** The start of the message a sync fails with when a peer does not answer. */
    private static String unavailable(DnsSync sync) {
        ControlException e = assertThrows(ControlException.class, () -> sync.sync(dryRun()));
        assertEquals(Outcome.UNAVAILABLE, e.outcome(), e.getMessage());
        return e.getMessage().substring(0, e.getMessage().indexOf(" ("));
    }

    private static JsonNode dryRun() {
        return ControlMessage.JSON.createObjectNode().put("dry_run", true);
    }
}
