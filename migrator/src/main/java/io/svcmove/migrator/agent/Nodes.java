package io.svcmove.migrator.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.svcmove.migrator.clock.PeerClocks;
import io.svcmove.migrator.config.AgentConfig;
import io.svcmove.migrator.peer.Messages;
import io.svcmove.migrator.peer.PeerClient;
import io.svcmove.migrator.peer.RequestHandler;
import io.svcmove.migrator.pki.CertificateExpiry;
import io.svcmove.migrator.service.Draining;
import io.svcmove.migrator.service.ServiceRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;

/** `svcmove nodes`: this node and each peer, reachable or not, with what a move needs to match. */
final class Nodes {
    private static final Duration ASK = Duration.ofSeconds(3);

    private final AgentConfig config;
    private final ConfigReload reload;
    private final ServiceRegistry registry;
    private final String criuVersion;
    private final PeerClient peers;
    private final Draining draining;
    private final PeerClocks clocks;

    Nodes(AgentConfig config, ConfigReload reload, ServiceRegistry registry, String criuVersion, PeerClient peers,
            PeerClocks clocks) {
        this.config = config;
        this.reload = reload;
        this.registry = registry;
        this.criuVersion = criuVersion;
        this.peers = peers;
        this.draining = new Draining(Path.of(config.stateDir()));
        this.clocks = clocks;
    }

    /**
     * This node's own answer, to the CLI and to peers; free memory and load are what drain places
     * services by; its certificate's end is what the operator must renew it before.
     */
    NodeMessages.Info self() throws IOException {
        X509Certificate cert = reload.identity().certificate();
        Instant now = Instant.now();
        return new NodeMessages.Info(config.node(), true, config.listen(), Files.readString(Path.of("/proc/sys/kernel/osrelease")).strip(),
                criuVersion == null ? "missing" : criuVersion, registry.all().size(), memAvailable(),
                Double.parseDouble(Files.readString(Path.of("/proc/loadavg")).split(" ")[0]), Runtime.getRuntime().availableProcessors(),
                draining.on(), cert.getNotAfter().toInstant().toString(), CertificateExpiry.daysLeft(cert, now),
                CertificateExpiry.expiresSoon(cert, now));
    }

    RequestHandler handler() {
        return Messages.typed((from, body) -> self());
    }

    private static long memAvailable() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
            if (line.startsWith("MemAvailable:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        return 0;
    }

    JsonNode all() throws IOException {
        return PeerAnswers.fromAll(reload.config(), peers, NodeMessages.Type.INFO, ASK, Messages.tree(self()), this::withClock);
    }

    /** A reachable peer's clocks minus this node's (wall, monotonic, boot-time), each ± the uncertainty. */
    private JsonNode withClock(JsonNode peer) {
        ObjectNode n = (ObjectNode) peer;
        try {
            n.set("clock_offset", PeerClocks.json(clocks.measure(peer.path("node").asText())));
        } catch (Exception e) {
            n.put("clock_error", e.getMessage());
        }
        return n;
    }
}
