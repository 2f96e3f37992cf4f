package io.svcmove.migrator.agent;

import io.svcmove.migrator.config.AgentConfig;
import io.svcmove.migrator.control.ControlMessage;
import io.svcmove.migrator.peer.PeerClient;
import io.svcmove.migrator.pki.CertificateExpiry;
import io.svcmove.migrator.pki.NodeIdentity;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * At start and then daily, logs a warning for this node's certificate and each peer's that expires
 * within {@link CertificateExpiry#WARN_BEFORE}. A peer's is the one it proves itself with on the
 * channel (asked for by a call), not what it says of itself; a peer that does not answer is skipped.
 */
final class CertificateWatch implements AutoCloseable {
    static final Duration EVERY = Duration.ofDays(1);
    private static final Duration ASK = Duration.ofSeconds(5);
    private static final Logger log = LoggerFactory.getLogger(CertificateWatch.class);

    private final Supplier<AgentConfig> config;
    private final Supplier<NodeIdentity> identity;
    private final PeerClient peers;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "certificate-watch");
        t.setDaemon(true);
        return t;
    });

    CertificateWatch(Supplier<AgentConfig> config, Supplier<NodeIdentity> identity, PeerClient peers) {
        this.config = config;
        this.identity = identity;
        this.peers = peers;
    }

    void start() {
        timer.scheduleAtFixedRate(() -> {
            try {
                check();
            } catch (RuntimeException e) {
                // An exception would end the schedule for good: say so and try again tomorrow.
                log.warn("cannot check the certificates' expiry: {}", e.toString());
            }
        }, 0, EVERY.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void check() {
        NodeIdentity self = identity.get();
        CertificateExpiry.warning(self.name(), self.certificate(), Instant.now()).ifPresent(log::warn);
        for (AgentConfig.Peer p : config.get().peers()) {
            // Only to have the connection, and so its certificate: an unreachable peer has none to show.
            peers.call(p.name(), NodeMessages.Type.INFO, ControlMessage.JSON.createObjectNode(), ASK).handle((answer, error) -> null).join();
            peers.certificate(p.name())
                    .flatMap(cert -> CertificateExpiry.warning(p.name(), cert, Instant.now()))
                    .ifPresent(log::warn);
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
