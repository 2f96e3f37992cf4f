package io.svcmove.migrator.move;

import com.fasterxml.jackson.databind.JsonNode;
import io.svcmove.arp.Announcement;
import io.svcmove.arp.ArpAnnouncer;
import io.svcmove.arp.ArpException;
import io.svcmove.clock.TcpTimestamps;
import io.svcmove.migrator.config.AgentConfig;
import io.svcmove.migrator.criu.Criu;
import io.svcmove.migrator.criu.ImageDir;
import io.svcmove.migrator.criu.LazyPagesDaemon;
import io.svcmove.migrator.criu.NetworkLock;
import io.svcmove.migrator.criu.OpenFd;
import io.svcmove.migrator.criu.PageServerTls;
import io.svcmove.migrator.criu.RestoreOptions;
import io.svcmove.migrator.criu.RestoreResult;
import io.svcmove.migrator.peer.Messages;
import io.svcmove.migrator.peer.PeerClient;
import io.svcmove.migrator.peer.RequestHandler;
import io.svcmove.migrator.pki.GnuTlsKey;
import io.svcmove.migrator.service.CarriedFiles;
import io.svcmove.migrator.service.MoveStage;
import io.svcmove.migrator.service.ServiceRecord;
import io.svcmove.migrator.service.ServiceRecord.Arrival;
import io.svcmove.migrator.service.ServiceRegistry;
import io.svcmove.vip.Cell;
import io.svcmove.vip.CellSpec;
import io.svcmove.vip.Cells;
import io.svcmove.vip.PacketInjector;
import io.svcmove.vip.ServiceLauncher;
import io.svcmove.vip.Vip;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The destination's side of moves: each request of the source's {@link OutgoingMove} is one
 * handler here, and each incoming move has an explicit {@link MoveStage}. Before ARRIVED a move
 * lives in memory only: its cell is held (it never sent a frame), so whatever becomes of it, the
 * source may resume, and an agent restarted meanwhile removes the cell no record owns. ARRIVED is
 * recorded in the service's record, durably, before the hold is lifted: from then on this node
 * has the service whatever happens to either agent, and an abort is refused.
 */
public final class IncomingMoves {
    private static final Logger log = LoggerFactory.getLogger(IncomingMoves.class);
    /** How long a relay waits for the restored service to attach: the transfer and restore must fit in it. */
    private static final Duration RELAY_WINDOW = Duration.ofMinutes(5);
    /**
     * Added to the time the connections spent stopped when their TCP timestamps are advanced: covers
     * the stamps the source's kernel put ahead of its clock (pacing) and the time the restore takes.
     */
    private static final long TSVAL_LEAD_MS = 10;
    /** A lazy move's page certificate, beside the images (CRIU's work directory, tmpfs, gone with them). */
    static final String PAGE_CERTIFICATE = "page.crt";
    /** A held cell whose move went quiet this long asks its source whether the move is still on. */
    private static final Duration QUIET = Duration.ofSeconds(10);

    private final AgentConfig config;
    private final Cells cells;
    private final ServiceRegistry registry;
    private final Criu criu;
    private final Path criuBinary;
    private final String criuVersion;
    private final ArpAnnouncer announcer;
    private final ServiceLauncher launcher;
    private final PeerClient peers;
    private final FaultInjection faults;
    private final Admission admission;
    private final Map<String, Incoming> moves = new ConcurrentHashMap<>();

    /** One service on its way in, before it has arrived. Its methods run under its own lock. */
    private static final class Incoming {
        final String id;
        final String from;
        final ServiceRecord service;
        final Cell cell;
        final ImageDir images;
        /** What the restore is handed instead of reopening it: the output pipe, node-local logs. */
        final ServiceFiles files;
        final ServiceLauncher.Relay relay;
        MoveStage stage = MoveStage.PREPARED;
        /** A lazy move's page fetcher, once restored. */
        PageWatch pages;
        /** The files this node wrote for the service ({@link CarriedFiles}): removed if the move is dropped. */
        List<String> carried = List.of();

        Incoming(String id, String from, ServiceRecord service, Cell cell, ImageDir images, ServiceFiles files,
                ServiceLauncher.Relay relay) {
            this.id = id;
            this.from = from;
            this.service = service;
            this.cell = cell;
            this.images = images;
            this.files = files;
            this.relay = relay;
        }

        void to(MoveStage next) {
            stage = stage.to(next);
        }
    }

    public IncomingMoves(AgentConfig config, Cells cells, ServiceRegistry registry, Criu criu, Path criuBinary, String criuVersion,
            ArpAnnouncer announcer, ServiceLauncher launcher, PeerClient peers, FaultInjection faults) {
        this.config = config;
        this.cells = cells;
        this.registry = registry;
        this.criu = criu;
        this.criuBinary = criuBinary;
        this.criuVersion = criuVersion;
        this.announcer = announcer;
        this.launcher = launcher;
        this.peers = peers;
        this.faults = faults;
        this.admission = new Admission(config, registry, criu, criuVersion);
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

    /**
     * At start: a service that had ARRIVED when this agent stopped may have stopped with its hold
     * still on and its VIP not announced yet: both are done now; its source commits it (or asks).
     */
    public void finishArrivals() {
        for (ServiceRecord r : registry.all()) {
            if (r.arrival() != null && r.arrival().stage() == MoveStage.ARRIVED) {
                cells.find(r.name()).ifPresent(cell -> {
                    try {
                        cell.release();
                        announce(cell);
                        log.info("move {}: {} had arrived from {} when this agent stopped: it runs here (hold lifted, VIP announced);"
                                + " {} commits it once the agents talk", r.arrival().id(), r.name(), r.arrival().from(), r.arrival().from());
                    } catch (ArpException | RuntimeException e) {
                        log.error("move {}: taking over the VIP of {}: {}", r.arrival().id(), r.name(), e.getMessage());
                    }
                });
            }
        }
    }

    /** Where the images of a move arrive: inside its private tmpfs directory. */
    public Path imagesFor(String moveId) throws IOException {
        Incoming a = moves.get(moveId);
        if (a == null) {
            throw new IOException("no move " + moveId + " is being prepared on " + config.node());
        }
        return a.images.images();
    }

    /** PREPARE: the checks, then an empty cell with the service's MAC and VIP, held. */
    public synchronized MoveMessages.Prepared prepare(String from, JsonNode body) throws Exception {
        MoveMessages.Prepare p = Messages.read(body, MoveMessages.Prepare.class);
        ServiceRecord svc = p.service().moving(null).arrived(null);
        faults.at("dest-prepare");
        ServiceFiles files = p.files() == null ? new ServiceFiles(null, null, null) : p.files();
        admission.check(from, svc, p.criuVersion(), files, p.needs());
        if (cells.find(svc.name()).isPresent()) {
            log.warn("removing the leftover cell of {} (an earlier move that did not finish)", svc.name());
            cells.destroy(svc.name());
        }
        Vip vip = Vip.parse(svc.vip());
        Cell cell = cells.createHeld(new CellSpec(svc.name(), config.node(), vip, config.iface(), CellSpec.gateway(svc.gateway())));
        ImageDir images;
        ServiceLauncher.Relay relay;
        try {
            cell.addNeighbors(p.neighbors() == null ? List.of() : p.neighbors());
            cell.openHoldControl();
            images = ImageDir.create(imagePrefix(config.node()) + p.moveId() + "-");
            relay = launcher.startRelay(Path.of(config.logDir(), svc.name() + ".log"), RELAY_WINDOW);
        } catch (IOException | RuntimeException e) {
            cell.closeHoldControl();
            cells.destroy(svc.name());
            throw e;
        }
        Incoming a = new Incoming(p.moveId(), from, svc, cell, images, files, relay);
        moves.put(a.id, a);
        watchWhileHeld(a);
        log.info("move {}: prepared cell {} for {} from {} (held)", a.id, cell.netnsName(), svc.name(), from);
        return new MoveMessages.Prepared(config.node(), criuVersion, Files.readString(Path.of(config.tls().cert())));
    }

    /**
     * RESTORE: the tree into the prepared cell, recorded here as ARRIVED, then the hold is lifted.
     * For a lazy move (the request names the source's page server) a {@code criu lazy-pages} is
     * started first, and watched.
     */
    public MoveMessages.Restored restore(String from, JsonNode body) throws Exception {
        MoveMessages.Restore req = Messages.read(body, MoveMessages.Restore.class);
        Incoming a = incoming(req.moveId());
        synchronized (a) {
            if (a.stage != MoveStage.PREPARED) {
                throw new IllegalStateException("move " + a.id + " is at stage " + a.stage.label() + " on " + config.node()
                        + ", not prepared: it cannot be restored (again)");
            }
            a.to(MoveStage.RESTORING);
            faults.at("dest-restore");
            Path images = a.images.images();
            int streams = TcpTimestamps.advance(images, Duration.ofMillis(req.sinceDumpMs() + TSVAL_LEAD_MS));
            LazyPagesDaemon daemon = null;
            RestoreResult r;
            try {
                if (req.lazy()) {
                    long daemonStart = System.nanoTime();
                    // The certificate the source's page server accepts for this move: this node's key, signed by the move's CA.
                    Path pageCert = a.images.path().resolve(PAGE_CERTIFICATE);
                    Files.writeString(pageCert, req.pageCertificate(), StandardCharsets.US_ASCII, StandardOpenOption.CREATE_NEW);
                    daemon = LazyPagesDaemon.start(criuBinary, images, a.images.path(), req.pageServer(), req.pagePort(),
                            pageServerTls(config).presenting(pageCert));
                    log.info("move {}: criu lazy-pages ready in {} ms", a.id, (System.nanoTime() - daemonStart) / 1_000_000);
                }
                a.carried = CarriedFiles.place(images, a.service.carry());
                try (OpenFd netns = OpenFd.open(a.cell.netnsPath()); ServiceFiles.Opened inherited = a.files.open(a.relay.pipe())) {
                    r = CriuLogs.keptOnFailure(Path.of(config.logDir()), a.id, () ->
                            criu.restore(inherited.into(RestoreOptions.builder(images, NetworkLock.SKIP).workDir(a.images.path())
                                    .lazyPages(req.lazy()).tcpEstablished(true).inheritFd(OutgoingMove.CELL_NETNS_KEY, netns.fd()))
                                    .build(), n -> {}));
                }
                faults.at("dest-restored");
                // Durable before the hold is lifted: an agent that dies from here on finds the service its own.
                registry.save(a.service.withPlacement(config.node(), r.pid(), a.cell.netnsName(), config.iface(),
                        new Arrival(a.id, from, MoveStage.ARRIVED)));
            } catch (Exception e) {
                if (daemon != null) {
                    daemon.close();
                }
                CarriedFiles.remove(a.carried);
                throw e;
            }
            a.to(MoveStage.ARRIVED);
            faults.at("dest-arrived");
            if (daemon != null) {
                a.pages = PageWatch.start(a.id, a.service.name(), config.node(), daemon, r.pid(), a.images,
                        Duration.ofSeconds(config.move().lazyTimeoutS()), why -> failed(a, r.pid(), why));
            }
            a.cell.release();
            a.cell.closeHoldControl();
            log.info("move {}: {} restored as pid {} in {} ms, {} connections' timestamps {} ms on; arrived, hold lifted",
                    a.id, a.service.name(), r.pid(), r.elapsed().toMillis(), streams, req.sinceDumpMs() + TSVAL_LEAD_MS);
            return new MoveMessages.Restored(r.pid(), r.elapsed().toMillis());
        }
    }

    /** A lazy move whose pages stopped: the service here was killed; it is recorded failed, and the move is over. */
    private void failed(Incoming a, long pid, String why) {
        synchronized (a) {
            registry.find(a.service.name()).ifPresent(r -> registry.save(r.failed(why).arrived(new Arrival(a.id, a.from,
                    MoveStage.COMMITTED))));
            moves.remove(a.id);
        }
    }

    /** ANNOUNCE: gratuitous ARP from this node, so the switch and the clients learn where the VIP is now. */
    public MoveMessages.Kept announce(String from, JsonNode body) throws Exception {
        MoveMessages.MoveRef ref = Messages.read(body, MoveMessages.MoveRef.class);
        faults.at("dest-announce");
        ServiceRecord r = arrived(ref).orElseThrow(() -> notArrived(ref));
        announce(cells.find(r.name()).orElseThrow(() -> new IllegalStateException("the cell of " + r.name() + " is gone")));
        return new MoveMessages.Kept(true, r.arrival().stage());
    }

    private void announce(Cell cell) throws ArpException {
        announcer.announce(config.iface(), Announcement.of(cell.vip().address(), cell.vip().mac())
                .withBurst(config.move().arpRepeats(), Duration.ofMillis(config.move().arpIntervalMs())));
    }

    /** DRAIN: what the source buffered during the freeze goes into the restored service's stack, in order. */
    public MoveMessages.Injected inject(String from, JsonNode body) throws Exception {
        MoveMessages.Inject req = Messages.read(body, MoveMessages.Inject.class);
        ServiceRecord r = arrived(new MoveMessages.MoveRef(req.moveId(), null))
                .orElseThrow(() -> new IllegalStateException("no move " + req.moveId() + " has arrived on " + config.node()));
        Cell cell = cells.find(r.name()).orElseThrow(() -> new IllegalStateException("the cell of " + r.name() + " is gone"));
        int n = PacketInjector.inject(cell, req.packets());
        log.info("move {}: injected {} of {} buffered packets into {}", req.moveId(), n, req.packets().size(), cell.netnsName());
        return new MoveMessages.Injected(n);
    }

    /**
     * COMMIT: the service is this node's from now on (for a lazy move, once every page has arrived).
     * Idempotent: a replayed commit gets the first one's answer. A move that has not arrived here is
     * refused, and nothing changes.
     */
    public MoveMessages.Kept commit(String from, JsonNode body) throws Exception {
        MoveMessages.MoveRef ref = Messages.read(body, MoveMessages.MoveRef.class);
        faults.at("dest-commit");
        Incoming a = moves.get(ref.moveId());
        if (a != null && a.pages != null) {
            a.pages.await();
        }
        synchronized (this) {
            ServiceRecord r = arrived(ref).orElseThrow(() -> notArrived(ref));
            if (r.arrival().stage() == MoveStage.ARRIVED) {
                registry.save(r.arrived(new Arrival(r.arrival().id(), r.arrival().from(), MoveStage.COMMITTED)));
                log.info("move {}: {} committed: it runs here (pid {})", ref.moveId(), r.name(), r.pid());
            }
            forget(ref.moveId());
            return new MoveMessages.Kept(true, MoveStage.COMMITTED);
        }
    }

    /**
     * A source that cannot tell how its move ended asks who has the service: a copy that arrived
     * here is kept (committed, its VIP announced); a move that had not arrived is aborted, and the
     * source resumes its own. The answer is definite either way.
     */
    public MoveMessages.Kept claim(String from, JsonNode body) throws Exception {
        MoveMessages.MoveRef ref = Messages.read(body, MoveMessages.MoveRef.class);
        if (dropUnlessArrived(ref, from + " asked who has " + ref.name() + " before it arrived")) {
            return new MoveMessages.Kept(false, MoveStage.ABORTED);
        }
        if (arrived(ref).isPresent()) {
            announce(from, body);
            return commit(from, body);
        }
        log.info("move {}: {} asks who has {}: not this node", ref.moveId(), from, ref.name());
        return new MoveMessages.Kept(false, null);
    }

    /** The source gives up before the service arrived: whatever this node made for the move goes. Idempotent. */
    public MoveMessages.Aborted abort(String from, JsonNode body) throws Exception {
        MoveMessages.MoveRef ref = Messages.read(body, MoveMessages.MoveRef.class);
        if (dropUnlessArrived(ref, "aborted by " + from)) {
            return new MoveMessages.Aborted(true);
        }
        Optional<ServiceRecord> r = arrived(ref);
        if (r.isPresent()) {
            throw new IllegalStateException("move " + ref.moveId() + " is " + r.get().arrival().stage().label() + " on "
                    + config.node() + ": " + r.get().name() + " runs here and is not rolled back (a source that cannot tell asks"
                    + " with a claim)");
        }
        return new MoveMessages.Aborted(false);
    }

    /** The record of the service that arrived here by move {@code ref}, if it did. */
    private Optional<ServiceRecord> arrived(MoveMessages.MoveRef ref) {
        return registry.all().stream().filter(r -> r.arrival() != null && r.arrival().id().equals(ref.moveId())).findFirst();
    }

    private IllegalStateException notArrived(MoveMessages.MoveRef ref) {
        Incoming a = moves.get(ref.moveId());
        return new IllegalStateException(a != null
                ? "move " + ref.moveId() + " has not arrived on " + config.node() + " (it is at stage " + a.stage.label() + ")"
                : "no move " + ref.moveId() + " arrived on " + config.node() + " (unknown move id, or it was aborted)");
    }

    private Incoming incoming(String moveId) {
        Incoming a = moves.get(moveId);
        if (a == null) {
            throw new IllegalStateException("no move " + moveId + " is under way on " + config.node());
        }
        return a;
    }

    /**
     * Drops move {@code ref} if it is under way here and has not arrived (waiting for a restore in
     * progress to end first); whether it did.
     */
    private boolean dropUnlessArrived(MoveMessages.MoveRef ref, String why) throws Exception {
        Incoming a = moves.get(ref.moveId());
        if (a == null) {
            return false;
        }
        synchronized (a) {
            if (a.stage == MoveStage.ARRIVED || moves.get(a.id) != a) {
                return false;
            }
            drop(a, why);
            return true;
        }
    }

    /** Under {@code a}'s lock: the held cell, its images and anything CRIU left in it go. */
    private void drop(Incoming a, String why) throws Exception {
        a.to(MoveStage.ABORTED);
        moves.remove(a.id);
        a.cell.closeHoldControl();
        cells.destroy(a.service.name());
        a.images.close();
        CarriedFiles.remove(a.carried);
        log.info("move {}: {}; the cell of {} is gone", a.id, why, a.service.name());
    }

    private void forget(String moveId) throws IOException {
        Incoming a = moves.remove(moveId);
        if (a != null && a.pages == null) {
            a.images.close();
        }
    }

    /**
     * A held cell must not outlive its move: once quiet, the source is asked whether the move is
     * still on; if it says no (it gave up and could not tell this node), the cell goes.
     */
    private void watchWhileHeld(Incoming a) {
        Thread t = new Thread(() -> {
            try {
                Thread.sleep(QUIET.toMillis());
                while (moves.get(a.id) == a) {
                    synchronized (a) {
                        if (a.stage != MoveStage.PREPARED) {
                            return;
                        }
                    }
                    try {
                        MoveMessages.Active answer = Peers.call(peers, a.from, MoveMessages.Type.ACTIVE,
                                new MoveMessages.MoveRef(a.id, a.service.name()), MoveMessages.Active.class, QUIET);
                        if (!answer.active()) {
                            synchronized (a) {
                                if (a.stage == MoveStage.PREPARED) {
                                    drop(a, a.from + " says the move is over");
                                }
                            }
                            return;
                        }
                    } catch (Exception e) {
                        log.debug("move {}: asking {} whether the move is on: {}", a.id, a.from, e.getMessage());
                    }
                    Thread.sleep(QUIET.toMillis() / 2);
                }
            } catch (Exception e) {
                log.warn("move {}: watching the held cell of {}: {}", a.id, a.service.name(), e.toString());
            }
        }, "held-" + a.id);
        t.setDaemon(true);
        t.start();
    }

    /** CHECK (`svcmove check`): the checks of prepare, run now, without a cell or anything else. */
    public MoveMessages.Checked check(String from, JsonNode body) {
        MoveMessages.Check c = Messages.read(body, MoveMessages.Check.class);
        return new MoveMessages.Checked(config.node(), admission.checks(from, c.service().moving(null).arrived(null), c.criuVersion(),
                c.files() == null ? new ServiceFiles(null, null, null) : c.files(), c.needs()));
    }

    /** The agent's own certificates, which CRIU's page server and lazy-pages daemon use too. */
    public static PageServerTls pageServerTls(AgentConfig config) throws IOException {
        Path key = GnuTlsKey.write(Path.of(config.tls().key()), Path.of(config.tls().cert()),
                Path.of(config.stateDir(), "page-server.key"));
        return new PageServerTls(Path.of(config.tls().ca()), Path.of(config.tls().cert()), key);
    }

    /** Handlers by request type, for the peer server. */
    public Map<String, RequestHandler> handlers() {
        return Map.of(MoveMessages.Type.PREPARE, Messages.typed(this::prepare), MoveMessages.Type.RESTORE, Messages.typed(this::restore),
                MoveMessages.Type.ANNOUNCE, Messages.typed(this::announce), MoveMessages.Type.INJECT, Messages.typed(this::inject),
                MoveMessages.Type.COMMIT, Messages.typed(this::commit), MoveMessages.Type.ABORT, Messages.typed(this::abort),
                MoveMessages.Type.CLAIM, Messages.typed(this::claim), MoveMessages.Type.CHECK, Messages.typed(this::check));
    }
}
