package io.svcmove.migrator.failover;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectReader;
import io.svcmove.arp.Announcement;
import io.svcmove.arp.ArpAnnouncer;
import io.svcmove.migrator.config.AgentConfig;
import io.svcmove.migrator.control.ControlException;
import io.svcmove.migrator.control.ControlMessage;
import io.svcmove.migrator.control.Forwarded;
import io.svcmove.migrator.control.Outcome;
import io.svcmove.migrator.criu.Criu;
import io.svcmove.migrator.criu.ImageDir;
import io.svcmove.migrator.criu.NetworkLock;
import io.svcmove.migrator.criu.OpenFd;
import io.svcmove.migrator.criu.RestoreOptions;
import io.svcmove.migrator.criu.RestoreResult;
import io.svcmove.migrator.move.OutgoingMove;
import io.svcmove.migrator.move.ServiceFiles;
import io.svcmove.migrator.peer.Messages;
import io.svcmove.migrator.peer.PeerClient;
import io.svcmove.migrator.peer.RequestHandler;
import io.svcmove.migrator.pki.NodeIdentity;
import io.svcmove.migrator.service.CarriedFiles;
import io.svcmove.migrator.service.Draining;
import io.svcmove.migrator.service.ServiceRecord;
import io.svcmove.migrator.service.ServiceRegistry;
import io.svcmove.migrator.service.VipAnnouncements;
import io.svcmove.vip.Cell;
import io.svcmove.vip.CellException;
import io.svcmove.vip.CellSpec;
import io.svcmove.vip.Cells;
import io.svcmove.vip.ServiceLauncher;
import io.svcmove.vip.Vips;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import javax.crypto.SecretKey;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * `svcmove recover NAME [--on NODE]`: the service's node is lost; its last checkpoint, from
 * whichever reachable node keeps the newest, is restored on this node into a new cell with its VIP.
 * Memory is as of the checkpoint; connections open then come back closed (clients reconnect).
 * Refused while the service still runs on a reachable node, and when the VIP still answers. The
 * checkpoint arrives encrypted and is decrypted here with this node's key, so only a checkpoint
 * sealed to this node is chosen, and one that does not authenticate is refused, never restored.
 */
public final class Recovery {
    private static final Logger log = LoggerFactory.getLogger(Recovery.class);
    private static final Duration ASK = Duration.ofSeconds(5);
    private static final Duration FETCH = Duration.ofMinutes(10);
    /** A checkpoint's manifest, read past fields a newer node may have written (a rolling upgrade: build_id came so). */
    private static final ObjectReader MANIFEST = ControlMessage.JSON.reader().without(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    /** Transfer ids of checkpoints sent back for a recovery. */
    private static final String FETCH_PREFIX = "recover-";

    private final Supplier<AgentConfig> inForce;
    private final ServiceRegistry registry;
    private final Cells cells;
    private final Criu criu;
    private final PeerClient peers;
    private final ArpAnnouncer announcer;
    private final ServiceLauncher launcher;
    private final CheckpointStore store;
    private final Supplier<NodeIdentity> identity;
    private final Object moveLock;
    private final Map<String, ImageDir> fetching = new ConcurrentHashMap<>();

    /** {@code config} and {@code identity}: those in force, whose [[peers]], key and certificates a reload changes. */
    public Recovery(Supplier<AgentConfig> config, ServiceRegistry registry, Cells cells, Criu criu, PeerClient peers,
            ArpAnnouncer announcer, ServiceLauncher launcher, CheckpointStore store, Supplier<NodeIdentity> identity, Object moveLock) {
        this.inForce = config;
        this.identity = identity;
        this.registry = registry;
        this.cells = cells;
        this.criu = criu;
        this.peers = peers;
        this.announcer = announcer;
        this.launcher = launcher;
        this.store = store;
        this.moveLock = moveLock;
    }

    /** The configuration as last reloaded; an operation that goes over the peers takes it once. */
    private AgentConfig config() {
        return inForce.get();
    }

    /** Where an incoming transfer goes: a checkpoint to keep, a checkpoint fetched for a recovery, or null (not ours). */
    public Path transferTarget(String peer, String transferId) throws IOException {
        if (CheckpointStore.isCheckpointTransfer(transferId)) {
            return store.incoming(peer, transferId);
        }
        ImageDir d = fetching.get(transferId);
        return d == null ? null : sealed(d);
    }

    /** The CLI's request: recover here, or on --on NODE (forwarded to that node's agent). */
    public JsonNode recover(JsonNode req) throws Exception {
        AgentConfig config = config();
        String on = req.path("node").asText(config.node());
        if (on.isEmpty() || on.equals(config.node())) {
            return recoverHere(req.path("name").asText());
        }
        if (!config.isPeer(on)) {
            throw new ControlException(Outcome.NOT_FOUND, "unknown node " + on + ": " + config.node() + " knows "
                    + String.join(", ", config.peerNames()) + " (the [[peers]] of its agent.toml)");
        }
        String name = req.path("name").asText();
        Forwarded r;
        try {
            r = Messages.await(Messages.call(peers, on, CheckpointMessages.Type.RECOVER, new CheckpointMessages.ServiceRef(name),
                    Forwarded.class, FETCH));
        } catch (Exception e) {
            throw new ControlException(Outcome.UNAVAILABLE, "cannot ask " + on + " to recover " + name + ": " + e.getMessage());
        }
        return r.reportOrThrow();
    }

    /** The handlers of the peer requests of a recovery. */
    public Map<String, RequestHandler> handlers() {
        return Map.of(CheckpointMessages.Type.STATE, Messages.typed(CheckpointMessages.ServiceRef.class,
                (from, s) -> new CheckpointMessages.State(config().node(), presence(s.name()))),
                CheckpointMessages.Type.RECOVER, Messages.typed(CheckpointMessages.ServiceRef.class, this::forwarded));
    }

    /** A recovery forwarded by a peer: answers with the report or the failure, never throws. */
    private Forwarded forwarded(String from, CheckpointMessages.ServiceRef service) {
        try {
            return Forwarded.done(recoverHere(service.name()));
        } catch (ControlException e) {
            return Forwarded.failed(e);
        } catch (Exception e) {
            log.warn("recovery of {} failed", service.name(), e);
            return Forwarded.failed(Outcome.FAILED, String.valueOf(e.getMessage()));
        }
    }

    /** Whether NAME runs on this node, for a peer about to recover it: running, dead (record, no process) or absent. */
    private CheckpointMessages.Presence presence(String name) {
        return registry.find(name).map(r -> cells.find(name).filter(c -> c.pids().contains(r.pid())).isPresent()
                ? CheckpointMessages.Presence.RUNNING : CheckpointMessages.Presence.DEAD).orElse(CheckpointMessages.Presence.ABSENT);
    }

    private JsonNode recoverHere(String name) throws Exception {
        long t0 = System.nanoTime();
        if (criu == null) {
            throw new ControlException(Outcome.REFUSED, "CRIU is missing or does not work on " + config().node()
                    + ", so nothing can be recovered here: run 'make setup' on " + config().node() + " or recover with --on NODE");
        }
        if (new Draining(Path.of(config().stateDir())).on()) {
            throw new ControlException(Outcome.REFUSED, config().node() + " is draining: recover " + name + " with --on NODE elsewhere");
        }
        synchronized (moveLock) {
            CheckpointMessages.Presence here = presence(name);
            if (here == CheckpointMessages.Presence.RUNNING) {
                throw new ControlException(Outcome.REFUSED, name + " already runs on " + config().node() + ": nothing to recover");
            }
            if (here == CheckpointMessages.Presence.DEAD) {
                throw new ControlException(Outcome.REFUSED, name + " has a dead record on " + config().node()
                        + ": 'svcmove stop " + name + "' clears it (its checkpoints stay), then recover");
            }
            List<String> unreachable = new ArrayList<>();
            List<Kept> kept = new ArrayList<>();
            CheckpointMessages.ServiceRef service = new CheckpointMessages.ServiceRef(name);
            CheckpointMessages.Info mine = store.info(config().node(), service);
            if (mine.checkpoint() != null) {
                kept.add(new Kept(config().node(), mine.checkpoint()));
            }
            List<AgentConfig.Peer> peerList = config().peers(); // one list for the whole search, as a reload may change it
            for (AgentConfig.Peer p : peerList) {
                try {
                    CheckpointMessages.State s = Messages.await(Messages.call(peers, p.name(), CheckpointMessages.Type.STATE, service,
                            CheckpointMessages.State.class, ASK));
                    if (s.state() == CheckpointMessages.Presence.RUNNING) {
                        throw new ControlException(Outcome.REFUSED, name + " runs on " + p.name() + ": nothing to recover"
                                + " (move it with 'svcmove " + name + " NODE')");
                    }
                    CheckpointMessages.Info info = Messages.await(Messages.call(peers, p.name(), CheckpointMessages.Type.INFO, service,
                            CheckpointMessages.Info.class, ASK));
                    if (info.checkpoint() != null) {
                        kept.add(new Kept(p.name(), info.checkpoint()));
                    }
                } catch (ControlException e) {
                    throw e;
                } catch (Exception e) {
                    unreachable.add(p.name());
                }
            }
            if (kept.isEmpty()) {
                throw new ControlException(Outcome.NOT_FOUND, "no checkpoint of " + name + " on " + config().node()
                        + (peerList.isEmpty() ? "" : " or any reachable peer") + (unreachable.isEmpty() ? "" : " (unreachable: "
                        + String.join(", ", unreachable) + ")") + ": it was started without --checkpoint-every, or no checkpoint"
                        + " was taken yet, or its keeper is down too. Start it anew with 'svcmove run'");
            }
            Comparator<Kept> age = Comparator.comparingLong(k -> k.checkpoint().takenAt());
            Optional<Kept> newest = kept.stream().filter(k -> seal(k.checkpoint()).isPresent()).max(age);
            if (newest.isEmpty()) {
                throw new ControlException(Outcome.REFUSED, whyNotHere(name, kept.stream().max(age).get()));
            }
            return restore(name, newest.get().keeper(), newest.get().checkpoint(), t0);
        }
    }

    /** A checkpoint of the service and the node keeping it. */
    private record Kept(String keeper, CheckpointMessages.Checkpoint checkpoint) {}

    /** The seal of a checkpoint's key that this node can open, if it is encrypted and sealed to this node. */
    private Optional<CheckpointMessages.Seal> seal(CheckpointMessages.Checkpoint c) {
        if (c.format() < CheckpointCipher.FORMAT) {
            return Optional.empty();
        }
        return c.sealedTo().stream().filter(s -> config().node().equals(s.node())).findFirst();
    }

    private String whyNotHere(String name, Kept k) {
        if (k.checkpoint().format() < CheckpointCipher.FORMAT) {
            return "the checkpoint of " + name + " kept on " + k.keeper() + " was stored in the clear by an older svcmove, so it cannot"
                    + " be authenticated and is not restored: the node running " + name + " replaces it with an encrypted one at its"
                    + " next checkpoint; if that node is lost, start " + name + " anew with 'svcmove run'";
        }
        String source = k.checkpoint().from();
        List<String> to = k.checkpoint().sealedTo().stream().map(CheckpointMessages.Seal::node).toList();
        String instead = to.stream().filter(n -> !n.equals(source)).findFirst().map(n -> "recover it with --on " + n)
                .orElse("only " + source + " can recover it (no other peer had given its certificate when it was taken)");
        return "the checkpoint of " + name + " kept on " + k.keeper() + " is sealed to " + String.join(", ", to) + ", not to "
                + config().node() + (k.keeper().equals(config().node()) ? " (a keeper never holds the key to what it keeps)" : "")
                + ": " + instead;
    }

    /** Decrypts a fetched checkpoint into the images directory; one that does not authenticate is refused, naming why. */
    private JsonNode open(String name, String keeper, CheckpointMessages.Checkpoint meta, ImageDir images)
            throws IOException, ControlException {
        try {
            CheckpointMessages.Seal s = seal(meta).orElseThrow(() -> new CheckpointCipher.NotAuthentic("its record on " + keeper
                    + " changed while it was fetched: its key is no longer sealed to " + config().node()));
            byte[] context = CheckpointCipher.context(name, meta.from(), meta.takenAt(), meta.transferId());
            NodeIdentity self = identity.get();
            SecretKey key = CheckpointCipher.unseal(s, config().node(), self.key(), self.certificate().getPublicKey(), context);
            return CheckpointCipher.decryptDir(key, sealed(images), images.images());
        } catch (CheckpointCipher.NotAuthentic e) {
            throw new ControlException(Outcome.REFUSED, "the checkpoint of " + name + " kept on " + keeper + " does not authenticate,"
                    + " so it is not restored: " + e.getMessage() + ". It was altered or damaged on " + keeper + " or on the way;"
                    + " nothing was started. The next checkpoint of " + name + " replaces it; if its node is lost, start " + name
                    + " anew with 'svcmove run'");
        }
    }

    /** Where a fetched checkpoint arrives, still encrypted; it is decrypted into {@link ImageDir#images()}. */
    private static Path sealed(ImageDir images) {
        return images.path().resolve("sealed");
    }

    private JsonNode restore(String name, String keeper, CheckpointMessages.Checkpoint found, long t0) throws Exception {
        long fetchStart = System.nanoTime();
        ImageDir images = ImageDir.create("svcmove-" + config().node() + "-recover-");
        try {
            CheckpointMessages.Checkpoint meta;
            String transferId = FETCH_PREFIX + name + "-" + UUID.randomUUID().toString().substring(0, 8);
            fetching.put(transferId, images);
            try {
                meta = Messages.await(Messages.call(peers, keeper, CheckpointMessages.Type.FETCH, new CheckpointMessages.Fetch(name,
                        transferId), CheckpointMessages.Checkpoint.class, FETCH));
            } finally {
                fetching.remove(transferId);
            }
            long fetchNanos = System.nanoTime() - fetchStart;
            long openStart = System.nanoTime();
            JsonNode manifest = open(name, keeper, meta, images);
            long openNanos = System.nanoTime() - openStart;
            ServiceRecord svc = fromManifest(manifest.path("service"), ServiceRecord.class);
            Vips vips = Vips.parse(svc.vip());
            Cell cell;
            try {
                // Up, with the duplicate-address probe: a VIP that still answers means the node is not dead.
                cell = cells.create(new CellSpec(name, config().node(), vips, config().iface(), CellSpec.gateway(svc.gateway())), true);
            } catch (CellException e) {
                throw new ControlException(Outcome.REFUSED, "cannot recover " + name + " on " + config().node() + ": " + e.getMessage());
            }
            RestoreResult r;
            try {
                ServiceLauncher.Relay relay = launcher.startRelay(Path.of(config().logDir(), name + ".log"), Duration.ofMinutes(1));
                ServiceFiles files = fromManifest(manifest.path("files"), ServiceFiles.class);
                CarriedFiles.place(images.images(), svc.carry());
                try (OpenFd netns = OpenFd.open(cell.netnsPath()); ServiceFiles.Opened inherited = files.open(relay.pipe())) {
                    r = criu.restore(inherited.into(RestoreOptions.builder(images.images(), NetworkLock.SKIP).tcpClose(true)
                            .inheritFd(OutgoingMove.CELL_NETNS_KEY, netns.fd())).build(), n -> {});
                }
            } catch (Exception e) {
                cells.destroy(name);
                throw new ControlException(Outcome.FAILED, "restoring the checkpoint of " + name + " (from " + keeper + ") failed: "
                        + e.getMessage() + "; its cell on " + config().node() + " was removed, the checkpoint is kept (CRIU's log: "
                        + images.path().resolve("images/restore.log") + " until the agent's next start)");
            }
            for (Announcement a : VipAnnouncements.of(vips, config().move().arpRepeats(), Duration.ofMillis(config().move().arpIntervalMs()))) {
                announcer.announce(config().iface(), a);
            }
            registry.save(svc.withPlacement(config().node(), r.pid(), cell.netnsName(), config().iface(), null));
            long total = System.nanoTime() - t0;
            long age = System.currentTimeMillis() - manifest.path("taken_at").asLong();
            log.info("recovered {} on {} from its checkpoint on {} ({} s old): pid {}, {} ms in all", name, config().node(), keeper,
                    age / 1000, r.pid(), total / 1_000_000);
            images.close();
            return ControlMessage.JSON.createObjectNode().put("name", name).put("node", config().node()).put("vip", svc.vip())
                    .put("pid", r.pid()).put("keeper", keeper).put("checkpoint_taken_at", manifest.path("taken_at").asLong())
                    .put("checkpoint_age_ms", age).put("checkpoint_bytes", found.bytes())
                    .put("fetch_ms", fetchNanos / 1e6).put("decrypt_ms", openNanos / 1e6).put("restore_ms", r.elapsed().toMillis())
                    .put("total_ms", total / 1e6);
        } catch (ControlException e) {
            if (e.outcome() != Outcome.FAILED) {
                images.close();
            }
            throw e;
        } catch (Exception e) {
            images.close();
            throw e;
        }
    }

    /** A part of a checkpoint's manifest, past the fields this version does not know. */
    static <T> T fromManifest(JsonNode part, Class<T> type) throws IOException {
        return MANIFEST.treeToValue(part, type);
    }
}
