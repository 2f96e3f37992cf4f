package io.svcmove.migrator.failover;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.svcmove.migrator.config.AgentConfig;
import io.svcmove.migrator.control.ControlMessage;
import io.svcmove.migrator.criu.Criu;
import io.svcmove.migrator.criu.DumpOptions;
import io.svcmove.migrator.criu.ImageDir;
import io.svcmove.migrator.criu.NetworkLock;
import io.svcmove.migrator.move.OutgoingMove;
import io.svcmove.migrator.move.ServiceFiles;
import io.svcmove.migrator.peer.Messages;
import io.svcmove.migrator.peer.PeerClient;
import io.svcmove.migrator.peer.TransferStats;
import io.svcmove.migrator.service.CarriedFiles;
import io.svcmove.migrator.service.ServiceRecord;
import io.svcmove.migrator.service.ServiceRegistry;
import io.svcmove.vip.Cell;
import io.svcmove.vip.Cells;
import java.nio.file.Path;
import java.security.PublicKey;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import javax.crypto.SecretKey;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The running node's side of checkpoints: every {@code checkpoint_every_s}, each such service of
 * this node is dumped with CRIU leaving it running, and the images go to a keeper (another node,
 * {@link CheckpointStore}). The dump leaves TCP connections out ({@code tcp_close}): the live
 * sockets are never put in repair mode, so the checkpoint costs clients only the tree's freeze, no
 * hold of the VIP's traffic; a recovered service gets them back closed anyway.
 *
 * <p>The images are encrypted on this node before they leave it ({@link CheckpointCipher}), under
 * a key of their own sealed to every node that may recover the service except its keeper: this
 * node (it may come back and recover its own service) and its other peers. A keeper thus stores
 * what it cannot read, and cannot recover what it keeps; another node recovers it.
 */
public final class Checkpoints implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Checkpoints.class);
    private static final Duration CALL = Duration.ofSeconds(30);
    private static final long TICK_MS = 1000;

    /** The last checkpoint this node took of a service: where it went, when, what it cost. */
    public record Taken(String keeper, long takenAt, double freezeMs, long bytes, double transferMs) {}

    private final Supplier<AgentConfig> inForce;
    private final ServiceRegistry registry;
    private final Cells cells;
    private final Criu criu;
    private final PeerClient peers;
    private final Object moveLock;
    private final Map<String, Taken> last = new ConcurrentHashMap<>();
    private final Map<String, String> failing = new ConcurrentHashMap<>();
    /** Services whose last checkpoint only this node can open (warned once). */
    private final Set<String> onlyHere = ConcurrentHashMap.newKeySet();
    private final CheckpointRecipients recipients;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "checkpoints");
        t.setDaemon(true);
        return t;
    });

    /** {@code config}: the configuration in force, whose [[peers]] (the keepers) a reload changes. */
    public Checkpoints(Supplier<AgentConfig> config, ServiceRegistry registry, Cells cells, Criu criu, PeerClient peers,
            CheckpointRecipients recipients, Object moveLock) {
        this.inForce = config;
        this.recipients = recipients;
        this.registry = registry;
        this.cells = cells;
        this.criu = criu;
        this.peers = peers;
        this.moveLock = moveLock;
    }

    /** The configuration as last reloaded; an operation that goes over the peers takes it once. */
    private AgentConfig config() {
        return inForce.get();
    }

    /** Starts the timer: one thread, so a node takes one checkpoint at a time. */
    public void start() {
        timer.scheduleWithFixedDelay(this::due, TICK_MS, TICK_MS, TimeUnit.MILLISECONDS);
    }

    private void due() {
        try {
            for (ServiceRecord r : registry.all()) {
                Long every = r.checkpointEverySeconds();
                Taken t = last.get(r.name());
                if (every != null && (t == null || System.currentTimeMillis() - t.takenAt() >= every * 1000)) {
                    take(r.name());
                }
            }
            last.keySet().removeIf(name -> registry.find(name).isEmpty());
        } catch (RuntimeException e) {
            log.warn("checkpoints: {}", e.getMessage(), e);
        }
    }

    /** One checkpoint of NAME, to the first reachable keeper; a failure is logged (once per cause) and retried next tick. */
    void take(String name) {
        if (criu == null) {
            warnOnce(name, "CRIU is missing or does not work on " + config().node() + ": no checkpoint of " + name + " can be taken");
            return;
        }
        try (ImageDir images = ImageDir.create("svcmove-" + config().node() + "-ckpt-")) {
            long takenAt;
            long freezeNanos;
            ServiceRecord svc;
            ServiceFiles files;
            synchronized (moveLock) {
                Optional<ServiceRecord> r = registry.find(name);
                Optional<Cell> cell = r.flatMap(s -> cells.find(name).filter(c -> c.pids().contains(s.pid())));
                if (cell.isEmpty()) {
                    return;
                }
                svc = r.get();
                if (svc.move() != null || svc.arriving()) {
                    return; // frozen by a move, or not yet let go of by its source: the next tick takes it
                }
                files = ServiceFiles.of(name, config().node(), cell.get().pids());
                takenAt = System.currentTimeMillis();
                long t0 = System.nanoTime();
                criu.dump(DumpOptions.builder(images.path(), svc.pid(), NetworkLock.SKIP).leaveRunning(true).tcpClose(true)
                        .externalNetns(cell.get().netnsInode(), OutgoingMove.CELL_NETNS_KEY).build(), n -> {});
                freezeNanos = System.nanoTime() - t0;
                CarriedFiles.pack(svc.carry(), images.path());
            }
            String transferId = CheckpointStore.TRANSFER_PREFIX + name + "-" + UUID.randomUUID().toString().substring(0, 8);
            // Encrypted here, on tmpfs, before any byte leaves: a keeper receives, stores and sends back ciphertext only.
            SecretKey dataKey = CheckpointCipher.newDataKey();
            ObjectNode record = ControlMessage.JSON.createObjectNode().put("name", name).put("node", config().node())
                    .put("taken_at", takenAt);
            record.set("service", ControlMessage.JSON.valueToTree(svc));
            record.set("files", ControlMessage.JSON.valueToTree(files));
            Path sealed = images.path().resolve("sealed");
            CheckpointCipher.encryptDir(dataKey, images.path(), sealed, record);
            byte[] context = CheckpointCipher.context(name, config().node(), takenAt, transferId);
            List<String> keepers = keepers(); // one list for the whole checkpoint, as a reload may change it
            Map<String, PublicKey> keys = recipients.keys(keepers);
            Exception lastError = null;
            for (String keeper : keepers) {
                try {
                    List<CheckpointMessages.Seal> seals = new ArrayList<>();
                    for (Map.Entry<String, PublicKey> k : keys.entrySet()) {
                        if (!k.getKey().equals(keeper)) {
                            seals.add(CheckpointCipher.seal(dataKey, k.getKey(), k.getValue(), context));
                        }
                    }
                    TransferStats sent = Messages.await(peers.sendFiles(keeper, transferId, sealed, (s, t) -> {}));
                    Messages.await(Messages.call(peers, keeper, CheckpointMessages.Type.COMMIT, new CheckpointMessages.Commit(
                            CheckpointCipher.FORMAT, transferId, name, takenAt, freezeNanos / 1e6, sent.bytes(), seals),
                            CheckpointMessages.Stored.class, CALL));
                    Taken previous = last.put(name, new Taken(keeper, takenAt, freezeNanos / 1e6, sent.bytes(),
                            sent.elapsed().toNanos() / 1e6));
                    if (previous != null && !previous.keeper().equals(keeper)) {
                        dropQuietly(previous.keeper(), name);
                    }
                    if (failing.remove(name) != null || previous == null) {
                        log.info("checkpoint of {} kept on {}: frozen {} ms, {} bytes, encrypted, its key sealed to {}", name, keeper,
                                freezeNanos / 1_000_000, sent.bytes(), sealedTo(seals));
                    }
                    if (seals.size() > 1) {
                        onlyHere.remove(name);
                    } else if (onlyHere.add(name)) {
                        log.warn("the checkpoint of {} can be recovered on {} only: its keeper {} never holds its key and no other"
                                + " peer gave its certificate (with a third node, that node can recover it)", name, config().node(), keeper);
                    }
                    return;
                } catch (Exception e) {
                    lastError = e;
                }
            }
            warnOnce(name, "no keeper took the checkpoint of " + name + " (peers " + keepers + "): "
                    + (lastError == null ? "this node has no peers" : lastError.getMessage()));
        } catch (Exception e) {
            warnOnce(name, "the checkpoint of " + name + " failed: " + e.getMessage());
        }
    }

    private static String sealedTo(List<CheckpointMessages.Seal> seals) {
        return String.join(", ", seals.stream().map(CheckpointMessages.Seal::node).toList());
    }

    /** Keepers in the order of the [[peers]] of agent.toml: never this node, whose loss the checkpoint is for. */
    private List<String> keepers() {
        AgentConfig config = config();
        return config.peerNames().stream().filter(n -> !n.equals(config.node())).toList();
    }

    private void warnOnce(String name, String message) {
        if (!message.equals(failing.put(name, message))) {
            log.warn(message);
        }
    }

    /** When this node last checkpointed each service (ms since the epoch), for those it did since this agent started. */
    public Map<String, Long> takenAt() {
        Map<String, Long> at = new TreeMap<>();
        last.forEach((name, t) -> at.put(name, t.takenAt()));
        return at;
    }

    /** The last checkpoint of NAME taken here, if any since this agent started. */
    public Optional<Taken> last(String name) {
        return Optional.ofNullable(last.get(name));
    }

    /** A service stopped on purpose: its checkpoints go on every reachable node, so nothing recovers it later. */
    public void dropEverywhere(String name) {
        keepers().forEach(k -> dropQuietly(k, name));
        last.remove(name);
    }

    private void dropQuietly(String keeper, String name) {
        try {
            Messages.await(Messages.call(peers, keeper, CheckpointMessages.Type.DROP, new CheckpointMessages.ServiceRef(name),
                    CheckpointMessages.Dropped.class, CALL));
        } catch (Exception e) {
            log.info("could not drop the checkpoint of {} on {}: {}", name, keeper, e.getMessage());
        }
    }

    /** Adds each service's last checkpoint (keeper, age, freeze) and the checkpoints this node keeps to a status reply. */
    public JsonNode annotate(JsonNode status, CheckpointStore store) throws Exception {
        for (JsonNode s : status.path("services")) {
            last(s.path("name").asText()).ifPresent(t -> ((ObjectNode) s).putObject("checkpoint").put("keeper", t.keeper())
                    .put("taken_at", t.takenAt()).put("age_s", (System.currentTimeMillis() - t.takenAt()) / 1000).put("freeze_ms", t.freezeMs())
                    .put("bytes", t.bytes()).put("transfer_ms", t.transferMs()));
        }
        ((ObjectNode) status).set("checkpoints_kept", store.kept());
        return status;
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
