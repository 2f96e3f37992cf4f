package io.svcmove.migrator.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.svcmove.migrator.config.AgentConfig;
import io.svcmove.migrator.peer.PeerClient;
import io.svcmove.migrator.peer.PeerServer;
import io.svcmove.migrator.pki.ClusterPki;
import io.svcmove.migrator.pki.NodeIdentity;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a reload takes from agent.toml, and that a file or certificate that does not load changes nothing. */
class ConfigReloadTest {
    @TempDir Path dir;
    private final ExecutorService executor = Executors.newCachedThreadPool();
    private PeerServer server;
    private PeerClient client;
    private Path file;
    private ConfigReload reload;

    @BeforeEach
    void agentOfNode1() throws Exception {
        ClusterPki.createCa(dir);
        for (String node : List.of("node1", "node2", "node3")) {
            ClusterPki.issueNode(dir, node, List.of(InetAddress.getLoopbackAddress()));
        }
        file = dir.resolve("agent.toml");
        Files.writeString(file, toml("node2", "node3"));
        AgentConfig config = AgentConfig.load(file);
        NodeIdentity id = Agent.identity(config);
        server = new PeerServer(id, Set.of("node2", "node3")::contains, executor);
        client = new PeerClient(id, Agent.peerAddresses(config), executor);
        reload = new ConfigReload(file, config, id, server, client);
    }

    @AfterEach
    void stop() {
        client.close();
        server.close();
        executor.shutdownNow();
    }

    private String toml(String... peers) {
        StringBuilder b = new StringBuilder("node = \"node1\"\nlisten = \"127.0.0.1:7301\"\n\n[tls]\n")
                .append("ca = \"").append(dir.resolve("ca.crt")).append("\"\ncert = \"").append(dir.resolve("node1.crt"))
                .append("\"\nkey = \"").append(dir.resolve("node1.key")).append("\"\n");
        for (String p : peers) {
            b.append("\n[[peers]]\nname = \"").append(p).append("\"\naddress = \"127.0.0.1:7302\"\n");
        }
        return b.toString();
    }

    @Test
    void aReloadAppliesTheNewPeersAndCertificate() throws Exception {
        Files.delete(dir.resolve("node1.key"));
        Files.delete(dir.resolve("node1.crt"));
        ClusterPki.Issued renewed = ClusterPki.issueNode(dir, "node1", List.of());
        Files.writeString(file, toml("node2"));
        assertTrue(reload.reload());
        assertEquals(List.of("node2"), reload.config().peers().stream().map(AgentConfig.Peer::name).toList());
        assertEquals(Set.of("node2"), client.peers().keySet());
        assertEquals(renewed.cert(), reload.identity().certificate(), "the renewed certificate is in force");
    }

    @Test
    void aFileThatIsNotTomlOrNamesAnotherNodeOrAMissingCertificateChangesNothing() throws Exception {
        AgentConfig before = reload.config();
        NodeIdentity id = reload.identity();
        for (String bad : List.of(toml("node2") + "\n[[peers]]\nname =\n", toml("node2").replace("\"node1\"", "\"node9\""),
                toml("node2").replace(dir.resolve("node1.crt").toString(), "/nonexistent.crt"),
                toml("node2").replace("127.0.0.1:7302", "no-port-here"))) {
            Files.writeString(file, bad);
            assertFalse(reload.reload(), bad);
            assertEquals(before, reload.config());
            assertEquals(id, reload.identity());
            assertEquals(Set.of("node2", "node3"), client.peers().keySet(), "the peer channel kept its peers");
        }
    }
}
