package io.svcmove.migrator.move;

import com.fasterxml.jackson.databind.JsonNode;
import io.svcmove.arp.Announcement;
import io.svcmove.arp.ArpAnnouncer;
import io.svcmove.clock.TcpTimestamps;
import io.svcmove.migrator.agent.Installation;
import io.svcmove.migrator.config.AgentConfig;
import io.svcmove.migrator.control.ControlMessage;
import io.svcmove.migrator.criu.Criu;
import io.svcmove.migrator.criu.FrozenTree;
import io.svcmove.migrator.criu.ImageDir;
import io.svcmove.migrator.criu.LazyPagesDaemon;
import io.svcmove.migrator.criu.NetworkLock;
import io.svcmove.migrator.criu.OpenFd;
import io.svcmove.migrator.criu.PageServerTls;
import io.svcmove.migrator.criu.RestoreOptions;
import io.svcmove.migrator.criu.RestoreResult;
import io.svcmove.migrator.pki.GnuTlsKey;
import io.svcmove.migrator.service.Draining;
import io.svcmove.migrator.service.ServiceRecord;
import io.svcmove.migrator.service.ServiceRegistry;
import io.svcmove.vip.Cell;
import io.svcmove.vip.CellSpec;
import io.svcmove.vip.Cells;
import io.svcmove.vip.PacketInjector;
import io.svcmove.vip.ServiceLauncher;
import io.svcmove.vip.Vip;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The destination's side of moves: each request of the source's {@link OutgoingMove} is one
 * handler here. A move is kept in memory until commit or abort; an agent restarted mid-move finds
 * a cell without a service record, which it removes at start.
 */
public final class IncomingMoves {
    private static final Logger log = LoggerFactory.getLogger(IncomingMoves.class);

    private final AgentConfig config;
    private final Cells cells;
    private final ServiceRegistry registry;
    private final Criu criu;
    private final String criuVersion;
    private final ArpAnnouncer announcer;
    private final ServiceLauncher launcher;
    private final Map<String, Arrival> moves = new ConcurrentHashMap<>();
    /** How long a relay waits for the restored service to attach: the transfer and restore must fit in it. */
    private static final Duration RELAY_WINDOW = Duration.ofMinutes(5);
    /**
     * Added to the time the connections spent stopped when their TCP timestamps are advanced: covers
     * the stamps the source's kernel put ahead of its clock (pacing) and the time the restore takes.
     */
    private static final long TSVAL_LEAD_MS = 10;
    /** Moves this node committed: an abort that comes after (a lost commit reply) must not kill the service. */
    private final Set<String> committed = ConcurrentHashMap.newKeySet();

    /** One service on its way in. */
    private static final class Arrival {
        final ServiceRecord service;
        final Cell cell;
        final ImageDir images;
        final String outputPipe;
        final ServiceLauncher.Relay relay;
        volatile long pid;
        /** A lazy move's page fetcher, and when every page has arrived (or why not). */
        volatile LazyPagesDaemon daemon;
        final CompletableFuture<Void> pages = new CompletableFuture<>();

        Arrival(ServiceRecord service, Cell cell, ImageDir images, String outputPipe, ServiceLauncher.Relay relay) {
            this.service = service;
            this.cell = cell;
            this.images = images;
            this.outputPipe = outputPipe;
            this.relay = relay;
        }
    }

    public IncomingMoves(AgentConfig config, Cells cells, ServiceRegistry registry, Criu criu, String criuVersion,
            ArpAnnouncer announcer, ServiceLauncher launcher) {
        this.launcher = launcher;
        this.config = config;
        this.cells = cells;
        this.registry = registry;
        this.criu = criu;
        this.criuVersion = criuVersion;
        this.announcer = announcer;
    }

    /** Image directories are named after their node, so that an agent restarted mid-move finds its own leftovers. */
    static String imagePrefix(String node) {
        return "svcmove-" + node + "-";
    }

    /** At start: images a killed agent left behind (they hold process memory) are deleted. */
    public void removeLeftoverImages() throws IOException {
        for (Path dir : ImageDir.removeLeftovers(imagePrefix(config.node()))) {
            log.warn("removed {}: images of a move that did not finish", dir);
        }
    }

    /** Where the images of a move arrive: inside its private tmpfs directory. */
    public Path imagesFor(String moveId) throws IOException {
        Arrival a = moves.get(moveId);
        if (a == null) {
            throw new IOException("no move " + moveId + " is being prepared on " + config.node());
        }
        return a.images.images();
    }

    /** PREPARE: the checks, then an empty cell with the service's MAC and VIP, held. */
    public synchronized JsonNode prepare(String from, JsonNode body) throws Exception {
        String moveId = body.path("move_id").asText();
        ServiceRecord svc = ControlMessage.JSON.treeToValue(body.path("service"), ServiceRecord.class);
        if (criu == null) {
            throw new IllegalStateException("CRIU is missing or does not work on " + config.node()
                    + ": run 'make setup' there (see the agent's log for CRIU's own reason)");
        }
        if (!criuVersion.equals(body.path("criu_version").asText())) {
            throw new IllegalStateException(config.node() + " has CRIU " + criuVersion + " but " + from + " has "
                    + body.path("criu_version").asText() + ": install the same CRIU on both (make setup)");
        }
        if (registry.find(svc.name()).isPresent()) {
            throw new IllegalStateException("a service named " + svc.name() + " already runs on " + config.node());
        }
        if (new Draining(Path.of(config.stateDir())).on()) {
            throw new IllegalStateException(config.node() + " is draining: it takes no services until 'svcmove undrain "
                    + config.node() + "'");
        }
        Vip vip = Vip.parse(svc.vip());
        for (ServiceRecord other : registry.all()) {
            if (Vip.parse(other.vip()).address().equals(vip.address())) {
                throw new IllegalStateException(vip.addressText() + " is already the VIP of " + other.name() + " on " + config.node());
            }
        }
        if (cells.find(svc.name()).isPresent()) {
            log.warn("removing the leftover cell of {} (an earlier move that did not finish)", svc.name());
            cells.destroy(svc.name());
        }
        Cell cell = cells.createHeld(new CellSpec(svc.name(), config.node(), vip, config.iface(), CellSpec.gateway(svc.gateway())));
        List<Cell.Neighbor> neighbors = new ArrayList<>();
        body.path("neighbors").forEach(n -> neighbors.add(new Cell.Neighbor(n.path("address").asText(), n.path("mac").asText())));
        ImageDir images;
        ServiceLauncher.Relay relay;
        try {
            cell.addNeighbors(neighbors);
            cell.openHoldControl();
            images = ImageDir.create(imagePrefix(config.node()) + moveId + "-");
            relay = launcher.startRelay(Path.of(config.logDir(), svc.name() + ".log"), RELAY_WINDOW);
        } catch (IOException | RuntimeException e) {
            cell.closeHoldControl();
            cells.destroy(svc.name());
            throw e;
        }
        moves.put(moveId, new Arrival(svc, cell, images, body.path("output_pipe").asText(), relay));
        log.info("move {}: prepared cell {} for {} from {} (held)", moveId, cell.netnsName(), svc.name(), from);
        return ControlMessage.JSON.createObjectNode().put("node", config.node()).put("criu_version", criuVersion);
    }

    /**
     * RESTORE: the tree into the prepared cell; then the hold is lifted. For a lazy move (the body
     * names the source's page server) a {@code criu lazy-pages} is started first, and watched.
     */
    public JsonNode restore(String from, JsonNode body) throws Exception {
        Arrival a = arrival(body);
        String moveId = body.path("move_id").asText();
        boolean lazy = body.hasNonNull("page_server");
        Path images = a.images.images();
        int streams = TcpTimestamps.advance(images, Duration.ofMillis(body.path("since_dump_ms").asLong() + TSVAL_LEAD_MS));
        long daemonStart = System.nanoTime();
        if (lazy) {
            a.daemon = LazyPagesDaemon.start(Installation.criu(), images, a.images.path(), body.path("page_server").asText(),
                    body.path("page_port").asInt(), pageServerTls(config));
            log.info("move {}: criu lazy-pages ready in {} ms", moveId, (System.nanoTime() - daemonStart) / 1_000_000);
        }
        RestoreResult r;
        try (OpenFd netns = OpenFd.open(a.cell.netnsPath()); OpenFd output = OpenFd.openForWriting(a.relay.pipe())) {
            r = CriuLogs.keptOnFailure(Path.of(config.logDir()), moveId, () ->
                    criu.restore(RestoreOptions.builder(images, NetworkLock.SKIP).workDir(a.images.path()).lazyPages(lazy)
                            .tcpEstablished(true).inheritFd(OutgoingMove.CELL_NETNS_KEY, netns.fd())
                            .inheritFd(a.outputPipe, output.fd()).build(), n -> {}));
        } catch (Exception e) {
            if (a.daemon != null) {
                a.daemon.close();
            }
            throw e;
        }
        a.pid = r.pid();
        if (lazy) {
            // Nothing can be rolled back from here: the service is this node's even if the source never commits.
            registry.save(a.service.withPlacement(config.node(), a.pid, a.cell.netnsName(), config.iface()));
            watchPages(moveId, a);
        }
        a.cell.release();
        a.cell.closeHoldControl();
        log.info("move {}: {} restored as pid {} in {} ms, {} connections' timestamps {} ms on; hold lifted",
                moveId, a.service.name(), r.pid(), r.elapsed().toMillis(), streams,
                body.path("since_dump_ms").asLong() + TSVAL_LEAD_MS);
        return ControlMessage.JSON.createObjectNode().put("pid", r.pid()).put("restore_ms", r.elapsed().toMillis());
    }

    /** ANNOUNCE: gratuitous ARP from this node, so the switch and the clients learn where the VIP is now. */
    public JsonNode announce(String from, JsonNode body) throws Exception {
        Arrival a = arrival(body);
        announcer.announce(config.iface(), Announcement.of(a.cell.vip().address(), a.cell.vip().mac())
                .withBurst(config.move().arpRepeats(), Duration.ofMillis(config.move().arpIntervalMs())));
        return ControlMessage.JSON.createObjectNode();
    }

    /** DRAIN: what the source buffered during the freeze goes into the restored service's stack, in order. */
    public JsonNode inject(String from, JsonNode body) throws Exception {
        Arrival a = arrival(body);
        List<byte[]> packets = new ArrayList<>();
        for (JsonNode p : body.path("packets")) {
            packets.add(p.binaryValue());
        }
        int n = PacketInjector.inject(a.cell, packets);
        log.info("move {}: injected {} of {} buffered packets into {}", body.path("move_id").asText(), n, packets.size(), a.cell.netnsName());
        return ControlMessage.JSON.createObjectNode().put("injected", n);
    }

    /**
     * A lazy move's service faults on every page it has not got yet: when the page fetcher fails
     * (the source failed) or stalls, the service is killed at once and recorded as failed, whether
     * or not the source is still there to hear of it.
     */
    private void watchPages(String moveId, Arrival a) {
        Duration timeout = Duration.ofSeconds(config.move().lazyTimeoutS());
        Thread t = new Thread(() -> {
            try {
                a.daemon.await(timeout);
                log.info("move {}: every page of {} arrived", moveId, a.service.name());
                a.pages.complete(null);
            } catch (Exception e) {
                String why = "the source's pages stopped arriving before the last one (" + firstLine(e.getMessage())
                        + "): the service cannot run without them and cannot be rolled back";
                log.error("move {}: {} FAILED on {}: {}; killed. Full reason: {}", moveId, a.service.name(), config.node(), why,
                        e.getMessage());
                try {
                    new FrozenTree(a.pid).kill(5, TimeUnit.SECONDS);
                    a.daemon.close();
                    registry.save(a.service.withPlacement(config.node(), a.pid, a.cell.netnsName(), config.iface()).failed(why));
                } catch (Exception k) {
                    log.error("move {}: cleaning up the failed {}: {}", moveId, a.service.name(), k.toString());
                }
                moves.remove(moveId); // no commit or abort follows a failure here
                a.pages.completeExceptionally(new IllegalStateException(a.service.name() + " failed on " + config.node() + ": " + why));
            } finally {
                // The daemon is done with the images: they go now, whether or not the source ever commits.
                try {
                    a.images.close();
                } catch (IOException e) {
                    log.error("move {}: deleting the images in {}: {}", moveId, a.images.path(), e.toString());
                }
            }
        }, "lazy-pages-" + moveId);
        t.setDaemon(true);
        t.start();
    }

    private static String firstLine(String s) {
        return s == null ? "" : s.lines().findFirst().orElse("");
    }

    /** The agent's own certificates, which CRIU's page server and lazy-pages daemon use too. */
    public static PageServerTls pageServerTls(AgentConfig config) throws IOException {
        Path key = GnuTlsKey.write(Path.of(config.tls().key()), Path.of(config.tls().cert()),
                Path.of(config.stateDir(), "page-server.key"));
        return new PageServerTls(Path.of(config.tls().ca()), Path.of(config.tls().cert()), key);
    }

    /** COMMIT: the service is this node's from now on (for a lazy move, once every page has arrived). */
    public JsonNode commit(String from, JsonNode body) throws Exception {
        Arrival lazy = arrival(body);
        if (lazy.daemon != null) {
            Peers.await(lazy.pages);
        }
        return keep(body);
    }

    private synchronized JsonNode keep(JsonNode body) throws Exception {
        Arrival a = arrival(body);
        registry.save(a.service.withPlacement(config.node(), a.pid, a.cell.netnsName(), config.iface()));
        committed.add(body.path("move_id").asText());
        moves.remove(body.path("move_id").asText());
        a.images.close();
        log.info("move {}: {} now runs here (pid {})", body.path("move_id").asText(), a.service.name(), a.pid);
        return ControlMessage.JSON.createObjectNode();
    }

    /**
     * A source restarted mid-move asks who has the service now: a copy restored here (running)
     * is kept, as at commit, and its VIP announced from here; anything less goes, as at abort,
     * and the source resumes its own.
     * An agent restarted here meanwhile knows the move only by its service record.
     */
    public synchronized JsonNode claim(String from, JsonNode body) throws Exception {
        String moveId = body.path("move_id").asText();
        Arrival a = moves.get(moveId);
        boolean kept;
        if (a != null && a.pid > 0) {
            announce(from, body);
            keep(body);
            kept = true;
        } else if (a != null) {
            abort(from, body);
            kept = false;
        } else {
            kept = committed.contains(moveId) || registry.find(body.path("name").asText()).isPresent();
        }
        log.info("move {}: {} asks who has {}: {}", moveId, from, body.path("name").asText(), kept ? "this node" : "not this node");
        return ControlMessage.JSON.createObjectNode().put("kept", kept);
    }

    /** The source gives up: whatever this node made for the move goes. Idempotent. */
    public synchronized JsonNode abort(String from, JsonNode body) throws Exception {
        String moveId = body.path("move_id").asText();
        if (committed.contains(moveId)) {
            throw new IllegalStateException("move " + moveId + " was committed: the service runs on " + config.node()
                    + " and is not rolled back");
        }
        Arrival a = moves.remove(moveId);
        if (a == null) {
            return ControlMessage.JSON.createObjectNode().put("known", false);
        }
        if (a.pid > 0) {
            new FrozenTree(a.pid).kill(5, TimeUnit.SECONDS);
        }
        if (a.daemon != null) {
            a.daemon.close();
        }
        a.cell.closeHoldControl();
        cells.destroy(a.service.name());
        a.images.close();
        log.info("move {}: aborted by {}; the cell of {} is gone", moveId, from, a.service.name());
        return ControlMessage.JSON.createObjectNode().put("known", true);
    }

    private Arrival arrival(JsonNode body) {
        Arrival a = moves.get(body.path("move_id").asText());
        if (a == null) {
            throw new IllegalStateException("no move " + body.path("move_id").asText() + " is under way on " + config.node());
        }
        return a;
    }

    /** Handlers by request type, for the peer server. */
    public Map<String, io.svcmove.migrator.peer.RequestHandler> handlers() {
        return Map.of("move.prepare", this::prepare, "move.restore", this::restore, "move.announce", this::announce, "move.inject", this::inject,
                "move.commit", this::commit, "move.abort", this::abort, "move.claim", this::claim);
    }
}
