package io.svcmove.migrator.failover;

import io.svcmove.migrator.peer.Messages;
import io.svcmove.migrator.peer.PeerClient;
import io.svcmove.migrator.peer.RequestHandler;
import io.svcmove.migrator.pki.ClusterPki;
import io.svcmove.migrator.pki.NodeIdentity;
import java.io.IOException;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The public keys a checkpoint's data key is sealed to. An agent holds only its own certificate
 * and the CA's, so it asks each peer for its certificate ({@value CheckpointMessages.Type#RECIPIENT}) and trusts the answer
 * only if the cluster CA signed it for that very node name and it is valid now: a peer that
 * answered with another node's certificate, or a forged one, would only seal the key to a node
 * that cannot be it. The last good certificate of each peer is kept, so a peer down at the time of
 * a checkpoint can still recover it.
 */
public final class CheckpointRecipients {
    private static final Logger log = LoggerFactory.getLogger(CheckpointRecipients.class);
    private static final Duration ASK = Duration.ofSeconds(5);

    private final Supplier<NodeIdentity> self;
    private final PeerClient peers;
    private final Map<String, PublicKey> known = new ConcurrentHashMap<>();
    private final Set<String> warned = ConcurrentHashMap.newKeySet();

    /** {@code self}: this node's key and certificates as last loaded (a reload renews them). */
    public CheckpointRecipients(Supplier<NodeIdentity> self, PeerClient peers) {
        this.self = self;
        this.peers = peers;
    }

    /** The answer to a peer's {@value CheckpointMessages.Type#RECIPIENT}: this node's certificate. */
    public Map<String, RequestHandler> handlers() {
        return Map.of(CheckpointMessages.Type.RECIPIENT, Messages.typed((from, body) -> {
            NodeIdentity id = self.get();
            return new CheckpointMessages.Recipient(id.name(), ClusterPki.toPem(id.certificate()));
        }));
    }

    /**
     * The keys of this node and of {@code nodes} (asked together, each within a few seconds), in
     * that order; a peer that neither answers nor answered before is left out, and logged.
     */
    Map<String, PublicKey> keys(List<String> nodes) {
        Map<String, CompletableFuture<CheckpointMessages.Recipient>> asked = new LinkedHashMap<>();
        nodes.forEach(n -> asked.put(n, Messages.call(peers, n, CheckpointMessages.Type.RECIPIENT, Map.of(),
                CheckpointMessages.Recipient.class, ASK)));
        NodeIdentity id = self.get();
        Map<String, PublicKey> keys = new LinkedHashMap<>();
        keys.put(id.name(), id.certificate().getPublicKey());
        asked.forEach((node, answer) -> {
            try {
                PublicKey k = verified(node, Messages.await(answer).certificate());
                if (!k.equals(known.put(node, k))) {
                    log.info("checkpoints are sealed to {}'s key {}", node, CheckpointCipher.keyId(k));
                }
            } catch (Exception e) {
                log.debug("no certificate from {}: {}", node, e.getMessage());
            }
            PublicKey k = known.get(node);
            if (k != null) {
                keys.put(node, k);
                warned.remove(node);
            } else if (warned.add(node)) {
                log.warn("{} did not give its certificate ({} never answered since this agent started): checkpoints"
                        + " taken now cannot be recovered on {}", node, node, node);
            }
        });
        return keys;
    }

    /** The certificate's key, if the cluster CA signed it for {@code node} and it is valid now. */
    PublicKey verified(String node, String pem) throws IOException {
        X509Certificate cert = ClusterPki.peerCertificate(node, pem, self.get().ca());
        if (!(cert.getPublicKey() instanceof ECPublicKey)) {
            throw new IOException(node + "'s certificate holds no EC key, which checkpoints are sealed with");
        }
        return cert.getPublicKey();
    }
}
