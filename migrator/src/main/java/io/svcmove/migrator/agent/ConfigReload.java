package io.svcmove.migrator.agent;

import io.svcmove.migrator.config.AgentConfig;
import io.svcmove.migrator.peer.PeerClient;
import io.svcmove.migrator.peer.PeerServer;
import io.svcmove.migrator.pki.CertificateExpiry;
import io.svcmove.migrator.pki.NodeIdentity;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;

/**
 * SIGHUP (systemd's reload): the agent reads its configuration file again and applies its {@code
 * [[peers]]} and {@code [tls]} (the files they name are read again too) without a restart. A file
 * that does not load, or certificates that do not, are refused with the reason and the running
 * configuration stays whole; the rest of the file takes effect at the next start.
 */
final class ConfigReload {
    private static final Logger log = LoggerFactory.getLogger(ConfigReload.class);

    private final Path file;
    private final PeerServer server;
    private final PeerClient client;
    private volatile AgentConfig inForce;
    private volatile NodeIdentity identity;

    ConfigReload(Path file, AgentConfig config, NodeIdentity identity, PeerServer server, PeerClient client) {
        this.file = file;
        this.inForce = config;
        this.identity = identity;
        this.server = server;
        this.client = client;
    }

    /** The configuration the agent runs with: the one it started with, {@code [[peers]]} and {@code [tls]} as last reloaded. */
    AgentConfig config() {
        return inForce;
    }

    /** This node's key and certificates as last loaded. */
    NodeIdentity identity() {
        return identity;
    }

    /** Reloads on each SIGHUP, on a thread of its own (one reload at a time). */
    void onHangup() {
        Signal.handle(new Signal("HUP"), sig -> {
            Thread t = new Thread(this::reload, "reload");
            t.setDaemon(true);
            t.start();
        });
    }

    /** Reads and applies the file once; returns whether it was applied (if not, the log says why). */
    synchronized boolean reload() {
        AgentConfig current = inForce;
        AgentConfig next;
        NodeIdentity id;
        Map<String, InetSocketAddress> addresses;
        try {
            next = AgentConfig.load(file);
            if (!next.node().equals(current.node())) {
                throw new IllegalArgumentException("'node' changed from " + current.node() + " to " + next.node()
                        + ": a node's name changes only with a restart of its agent");
            }
            id = Agent.identity(next);
            addresses = Agent.peerAddresses(next);
            server.reload(id, addresses::containsKey);
            server.knownAddresses(addresses.values());
        } catch (AgentConfig.ConfigException | IOException | RuntimeException e) {
            log.error("reload refused, the configuration in force is kept: {}", e.getMessage());
            return false;
        }
        client.reload(id, addresses);
        inForce = current.withPeersAndTls(next.peers(), next.tls());
        identity = id;
        Set<String> before = names(current.peers());
        Set<String> after = names(next.peers());
        log.info("reloaded {}: peers {} (added: {}; removed: {}); certificate of {} valid until {}", file, after,
                difference(after, before), difference(before, after), id.name(), id.certificate().getNotAfter().toInstant());
        CertificateExpiry.warning(id.name(), id.certificate(), Instant.now()).ifPresent(log::warn);
        if (!next.equals(current.withPeersAndTls(next.peers(), next.tls()))) {
            log.warn("{} also changes settings other than [[peers]] and [tls]: those take effect when the agent restarts", file);
        }
        return true;
    }

    private static Set<String> names(List<AgentConfig.Peer> peers) {
        Set<String> s = new TreeSet<>();
        peers.forEach(p -> s.add(p.name()));
        return s;
    }

    private static String difference(Set<String> a, Set<String> b) {
        Set<String> d = new TreeSet<>(a);
        d.removeAll(b);
        return d.isEmpty() ? "none" : String.join(", ", d);
    }
}
