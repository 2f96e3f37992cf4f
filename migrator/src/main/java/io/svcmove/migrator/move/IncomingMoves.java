package io.svcmove.migrator.move;

import io.svcmove.arp.Announcement;
import io.svcmove.arp.ArpAnnouncer;
import io.svcmove.arp.ArpException;
import io.svcmove.clock.TcpTimestamps;
import io.svcmove.migrator.config.AgentConfig;
import io.svcmove.migrator.criu.Criu;
import io.svcmove.migrator.criu.CriuException;
import io.svcmove.migrator.criu.ImageDir;
import io.svcmove.migrator.criu.CriuDaemon;
import io.svcmove.migrator.criu.NetworkLock;
import io.svcmove.migrator.criu.OpenFd;
import io.svcmove.migrator.criu.PageServerTls;
import io.svcmove.migrator.criu.RestoreOptions;
import io.svcmove.migrator.criu.RestoreResult;
import io.svcmove.migrator.peer.Messages;
import io.svcmove.migrator.peer.PeerClient;
import io.svcmove.migrator.peer.RequestHandler;
import io.svcmove.migrator.pki.ClusterPki;
import io.svcmove.migrator.pki.GnuTlsKey;
import io.svcmove.migrator.service.CarriedFiles;
import io.svcmove.migrator.service.MoveStage;
import io.svcmove.migrator.service.ServiceRecord;
import io.svcmove.migrator.service.ServiceRecord.Arrival;
import io.svcmove.migrator.service.ServiceRegistry;
import io.svcmove.migrator.service.VipAnnouncements;
import io.svcmove.vip.CellSpec;
import io.svcmove.vip.Cells;
import io.svcmove.vip.ServiceLauncher;
import io.svcmove.vip.Vips;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The destination's side of moves: each request of the source's {@link OutgoingMove} is one
 * handler here, and each incoming move an {@link ArrivingMove} with an explicit {@link MoveStage};
 * the checks of prepare are {@link Admission}'s, the watch of a held cell {@link HeldCellWatch}'s
 * and that of a lazy move's pages {@link PageWatch}'s. Before ARRIVED a move lives in memory only:
 * its cell is held (it never sent a frame), so whatever becomes of it, the source may resume, and
 * an agent restarted meanwhile removes the cell no record owns. ARRIVED is recorded in the
 * service's record, durably, before the hold is lifted: from then on this node has the service
 * whatever happens to either agent, and an abort is refused.
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
    /**
     * A streamed move with at least this much memory is restored without it, and CRIU copies it in
     * from the images here while the service runs: the copy into fresh memory (most of a large
     * restore) leaves the freeze. Below it, starting the daemon costs more than it saves.
     */
    static final long MEMORY_AFTER_BYTES = 64L << 20;
    /** A held cell whose move went quiet this long asks its source whether the move is still on. */
    private static final Duration QUIET = Duration.ofSeconds(10);

    /**
     * What the destination's side of a move does to the node: its cells, CRIU, the service's output
     * relay, ARP, calls to the source, CRIU's lazy-pages daemon. On a node, {@link #on}; fakes in tests.
     */
    public interface Effects {
        CellStore<ArrivingCell> cells();

        /** A new cell, held (it drops every frame) from the start. */
        ArrivingCell createHeld(CellSpec spec);

        /** Null when CRIU is missing or does not work here (admission refuses every move then). */
        Criu criu();

        ServiceLauncher.Relay startRelay(Path logFile, Duration attachWindow);

        void announce(String iface, Announcement announcement) throws ArpException;

        /** A typed call to a peer (the source of a move). */
        <T> T call(String node, String type, Object request, Class<T> reply, Duration timeout) throws Exception;

        CriuDaemon startLazyPages(Path imagesDir, Path workDir, String address, int port, PageServerTls tls)
                throws CriuException, InterruptedException;

        /** CRIU's lazy-pages daemon copying a restored tree's memory in from the images here ({@link CriuDaemon#localPages}). */
        CriuDaemon startLocalPages(Path imagesDir, Path workDir) throws CriuException, InterruptedException;

        /** CRIU's page server of a streamed move ({@link PageSink}). */
        CriuDaemon startPageServer(Path pagesDir, Path workDir, String address, int port, PageServerTls tls)
                throws CriuException, InterruptedException;

        /** At start: the page servers and rules of streamed moves a stopped agent left ({@link PageSink#removeLeftovers}). */
        void removeLeftoverPageSinks(String imagePrefix);

        static Effects on(Cells cells, Criu criu, Path criuBinary, ArpAnnouncer announcer, ServiceLauncher launcher, PeerClient peers) {
            CellStore<ArrivingCell> store = CellStore.of(cells, ArrivingCell::of);
            return new Effects() {
                @Override
                public CellStore<ArrivingCell> cells() {
                    return store;
                }

                @Override
                public ArrivingCell createHeld(CellSpec spec) {
                    return ArrivingCell.of(cells.createHeld(spec));
                }

                @Override
                public Criu criu() {
                    return criu;
                }

                @Override
                public ServiceLauncher.Relay startRelay(Path logFile, Duration attachWindow) {
                    return launcher.startRelay(logFile, attachWindow);
                }

                @Override
                public void announce(String iface, Announcement announcement) throws ArpException {
                    announcer.announce(iface, announcement);
                }

                @Override
                public <T> T call(String node, String type, Object request, Class<T> reply, Duration timeout) throws Exception {
                    return Peers.call(peers, node, type, request, reply, timeout);
                }

                @Override
                public CriuDaemon startLazyPages(Path imagesDir, Path workDir, String address, int port, PageServerTls tls)
                        throws CriuException, InterruptedException {
                    return CriuDaemon.lazyPages(criuBinary, imagesDir, workDir, address, port, tls);
                }

                @Override
                public CriuDaemon startLocalPages(Path imagesDir, Path workDir) throws CriuException, InterruptedException {
                    return CriuDaemon.localPages(criuBinary, imagesDir, workDir);
                }

                @Override
                public CriuDaemon startPageServer(Path pagesDir, Path workDir, String address, int port, PageServerTls tls)
                        throws CriuException, InterruptedException {
                    return CriuDaemon.pageServer(criuBinary, pagesDir, workDir, address, port, tls);
                }

                @Override
                public void removeLeftoverPageSinks(String imagePrefix) {
                    PageSink.removeLeftovers(criuBinary, imagePrefix);
                }
            };
        }
    }

    private final Supplier<AgentConfig> inForce;
    private final Effects effects;
    private final CellStore<ArrivingCell> cells;
    private final ServiceRegistry registry;
    private final String criuVersion;
    private final FaultInjection faults;
    private final Admission admission;
    private final Map<String, ArrivingMove> moves = new ConcurrentHashMap<>();
    /** Why moves lost their copy here after the restore, until their source has heard it (its claim). */
    private final Map<String, String> lost = new ConcurrentHashMap<>();
    /** Whether CRIU can restore lazily here (userfaultfd): asked at the first streamed prepare, not in a freeze. */
    private volatile Boolean lazyRestores;

    /** {@code config}: the configuration in force, whose [[peers]] and [tls] a reload changes. */
    public IncomingMoves(Supplier<AgentConfig> config, Effects effects, ServiceRegistry registry, String criuVersion,
            FaultInjection faults) {
        this.inForce = config;
        this.effects = effects;
        this.cells = effects.cells();
        this.registry = registry;
        this.criuVersion = criuVersion;
        this.faults = faults;
        this.admission = new Admission(config.get(), registry, effects.criu(), criuVersion);
    }

    /** The configuration as last reloaded; an operation that goes over the peers takes it once. */
    private AgentConfig config() {
        return inForce.get();
    }

    /** Image directories are named after their node, so that an agent restarted mid-move finds its own leftovers. */
    static String imagePrefix(String node) {
        return "svcmove-" + node + "-";
    }

    /** At start: images a killed agent left behind (they hold process memory) are deleted. */
    public void removeLeftoverImages() throws IOException {
        effects.removeLeftoverPageSinks(imagePrefix(config().node()));
        for (Path dir : ImageDir.removeLeftovers(imagePrefix(config().node()))) {
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

    /**
     * Where the images of a transfer arrive: inside its move's private tmpfs directory, the final
     * images or, for a pre-copy round, that round's directory beside them ({@link PrecopyImages}).
     */
    public Path imagesFor(String transferId) throws IOException {
        String moveId = PrecopyImages.moveId(transferId);
        ArrivingMove a = moves.get(moveId);
        if (a == null) {
            throw new IOException("no move " + moveId + " is being prepared on " + config().node());
        }
        OptionalInt round = PrecopyImages.round(transferId);
        if (round.isPresent() && round.getAsInt() > PrecopyPolicy.MAX_ROUNDS) {
            throw new IOException("move " + moveId + " sent pre-copy round " + round.getAsInt() + ", more than "
                    + PrecopyPolicy.MAX_ROUNDS + " are ever made");
        }
        return round.isPresent() ? a.images.path().resolve(PrecopyImages.dir(round.getAsInt())) : a.images.images();
    }

    /** PREPARE: the checks, then an empty cell with the service's MAC and VIP, held. */
    synchronized MoveMessages.Prepared prepare(String from, MoveMessages.Prepare p) throws Exception {
        ServiceRecord svc = p.service().moving(null).arrived(null);
        faults.at("dest-prepare");
        ServiceFiles files = p.files() == null ? new ServiceFiles(null, null, null) : p.files();
        admission.check(from, svc, p.criuVersion(), files, p.needs());
        if (cells.find(svc.name()).isPresent()) {
            log.warn("removing the leftover cell of {} (an earlier move that did not finish)", svc.name());
            cells.destroy(svc.name());
        }
        Vips vips = Vips.parse(svc.vip());
        ArrivingCell cell = effects.createHeld(new CellSpec(svc.name(), config().node(), vips, config().iface(),
                CellSpec.gateway(svc.gateway())));
        ImageDir images;
        ServiceLauncher.Relay relay;
        try {
            cell.addNeighbors(p.neighbors() == null ? List.of() : p.neighbors());
            cell.openHoldControl();
            images = ImageDir.create(imagePrefix(config().node()) + p.moveId() + "-");
            relay = effects.startRelay(Path.of(config().logDir(), svc.name() + ".log"), RELAY_WINDOW);
        } catch (IOException | RuntimeException e) {
            cell.closeHoldControl();
            cells.destroy(svc.name());
            throw e;
        }
        ArrivingMove a = new ArrivingMove(p.moveId(), from, svc, cell, images, files, relay);
        if (p.streamFrom() != null && config().move().streamPages()) {
            try {
                a.sink = openSink(a, p);
            } catch (Exception e) {
                a.drop(cells);
                throw e;
            }
        }
        moves.put(a.id, a);
        HeldCellWatch.start(a, QUIET, () -> moves.get(a.id) == a, m -> effects.call(m.from, MoveMessages.Type.ACTIVE,
                new MoveMessages.MoveRef(m.id, m.service.name()), MoveMessages.Active.class, QUIET).active(), this::drop);
        log.info("move {}: prepared cell {} for {} from {} (held)", a.id, cell.netnsName(), svc.name(), from);
        String certificate = Files.readString(Path.of(config().tls().cert()));
        return a.sink == null ? new MoveMessages.Prepared(config().node(), criuVersion, certificate, null, 0, null)
                : new MoveMessages.Prepared(config().node(), criuVersion, certificate, listenHost(), a.sink.port(), a.sink.certificate());
    }

    /** A streamed move's page server, for the source that sent its certificate, and from its address only. */
    private PageSink openSink(ArrivingMove a, MoveMessages.Prepare p) throws Exception {
        long start = System.nanoTime();
        AgentConfig config = config();
        PageSink sink = PageSink.open(a.id, a.from, p.streamFrom(), config.peerHost(a.from),
                ClusterPki.loadCertificate(Path.of(config.tls().ca())), a.images.path(), listenHost(), pageServerTls(config),
                RELAY_WINDOW, effects::startPageServer);
        log.info("move {}: page server ready in {} ms", a.id, (System.nanoTime() - start) / 1_000_000);
        if (lazyRestores == null) {
            try {
                lazyRestores = effects.criu().lazyPagesAvailable();
            } catch (CriuException e) {
                // Only an optimisation: such moves restore with their memory, as before.
                log.warn("cannot tell whether CRIU restores lazily here ({}): large streamed moves restore with their memory",
                        e.getMessage());
                lazyRestores = false;
            }
        }
        return sink;
    }

    /** This node's address on the peer network (where its page servers listen). */
    private String listenHost() {
        return config().listen().substring(0, config().listen().lastIndexOf(':'));
    }

    /**
     * RESTORE: the tree into the prepared cell, recorded here as ARRIVED, then the hold is lifted.
     * For a lazy move (the request names the source's page server) a {@code criu lazy-pages} is
     * started first, and watched; for a streamed move of {@link #MEMORY_AFTER_BYTES} or more, one
     * that copies the memory in from the images here (the commit waits for either). A restore that
     * fails drops the move: its cell and images go, and the source resumes its own copy.
     */
    MoveMessages.Restored restore(String from, MoveMessages.Restore req) throws Exception {
        ArrivingMove a = incoming(req.moveId());
        synchronized (a) {
            if (a.stage() != MoveStage.PREPARED) {
                throw new IllegalStateException("move " + a.id + " is at stage " + a.stage().label() + " on " + config().node()
                        + ", not prepared: it cannot be restored (again)");
            }
            a.to(MoveStage.RESTORING);
            CriuDaemon daemon = null;
            long memoryAfter = 0;
            RestoreResult r;
            int streams;
            try {
                faults.at("dest-restore");
                Path images = a.images.images();
                if (a.sink != null) {
                    a.sink.received(images, Duration.ofSeconds(config().move().callTimeoutS()));
                }
                PrecopyImages.link(a.images.path(), images, req.precopyRounds());
                streams = TcpTimestamps.advance(images, Duration.ofMillis(req.sinceDumpMs() + TSVAL_LEAD_MS));
                if (req.lazy()) {
                    daemon = startLazyPages(a, req);
                } else if (a.sink != null && Boolean.TRUE.equals(lazyRestores)) {
                    long memory = pageBytes(images);
                    if (memory >= MEMORY_AFTER_BYTES) {
                        daemon = startLocalPages(a, images, memory);
                        memoryAfter = memory;
                    }
                }
                a.carried = CarriedFiles.place(images, a.service.carry());
                boolean lazily = daemon != null;
                try (OpenFd netns = OpenFd.open(a.cell.netnsPath()); ServiceFiles.Opened inherited = a.files.open(a.relay.pipe())) {
                    r = CriuLogs.keptOnFailure(Path.of(config().logDir()), a.id, () ->
                            effects.criu().restore(inherited.into(RestoreOptions.builder(images, NetworkLock.SKIP).workDir(a.images.path())
                                    .lazyPages(lazily).tcpEstablished(true).inheritFd(OutgoingMove.CELL_NETNS_KEY, netns.fd()))
                                    .build(), n -> {}));
                }
                faults.at("dest-restored");
                // Durable before the hold is lifted: an agent that dies from here on finds the service its own.
                registry.save(a.service.withPlacement(config().node(), r.pid(), a.cell.netnsName(), config().iface(),
                        new Arrival(a.id, from, MoveStage.ARRIVED)));
            } catch (Exception e) {
                if (daemon != null) {
                    daemon.close();
                }
                try {
                    drop(a, "the restore failed (" + e.getMessage() + ")");
                } catch (Exception d) {
                    e.addSuppressed(d);
                }
                throw e;
            }
            a.to(MoveStage.ARRIVED);
            if (req.lazy()) {
                a.pages = PageWatch.start(a.id, a.service.name(), config().node(), daemon, r.pid(), a.images,
                        Duration.ofSeconds(config().move().lazyTimeoutS()), faults, "the source's pages stopped arriving before the"
                        + " last one: the service cannot run without them and cannot be rolled back", why -> failed(a, why));
            } else if (daemon != null) {
                a.pages = PageWatch.start(a.id, a.service.name(), config().node(), daemon, r.pid(), a.images,
                        Duration.ofSeconds(config().move().lazyTimeoutS()), faults, "copying its memory in from the images here"
                        + " failed: its frozen copy on " + a.from + " resumes", why -> lostHere(a, why));
            }
            // The hold's nft is ended when the move is (forget, drop): waiting for it to exit costs ~40 ms, here in the freeze.
            a.cell.release();
            int injected = injectAtRestore(a, req.packets());
            log.info("move {}: {} restored as pid {} in {} ms, {} connections' timestamps {} ms on; arrived, hold lifted, {} of {}"
                    + " buffered packets injected", a.id, a.service.name(), r.pid(), r.elapsed().toMillis(), streams,
                    req.sinceDumpMs() + TSVAL_LEAD_MS, injected, req.packets().size());
            faults.at("dest-arrived"); // a failure from here on is a restore whose answer was lost: the source claims
            return new MoveMessages.Restored(r.pid(), r.elapsed().toMillis(), injected, memoryAfter);
        }
    }

    /** A lazy move's {@code criu lazy-pages}, presenting the certificate the source's page server accepts for this move. */
    private CriuDaemon startLazyPages(ArrivingMove a, MoveMessages.Restore req) throws Exception {
        long start = System.nanoTime();
        // This node's key, signed by the move's CA.
        Path pageCert = a.images.path().resolve(PAGE_CERTIFICATE);
        Files.writeString(pageCert, req.pageCertificate(), StandardCharsets.US_ASCII, StandardOpenOption.CREATE_NEW);
        CriuDaemon daemon = effects.startLazyPages(a.images.images(), a.images.path(), req.pageServer(), req.pagePort(),
                pageServerTls(config()).presenting(pageCert));
        log.info("move {}: criu lazy-pages ready in {} ms", a.id, (System.nanoTime() - start) / 1_000_000);
        return daemon;
    }

    /** A streamed move's memory, copied in by CRIU from the images here once the service runs. */
    private CriuDaemon startLocalPages(ArrivingMove a, Path images, long memory) throws Exception {
        long start = System.nanoTime();
        CriuDaemon daemon = effects.startLocalPages(images, a.images.path());
        log.info("move {}: {} MiB of memory copied in after the restore, from the images here; criu lazy-pages ready in {} ms", a.id,
                memory >> 20, (System.nanoTime() - start) / 1_000_000);
        return daemon;
    }

    /** The memory in a dump's images (CRIU's pages-N.img). */
    private static long pageBytes(Path images) throws IOException {
        try (Stream<Path> files = Files.list(images)) {
            return files.filter(f -> f.getFileName().toString().startsWith("pages-")).mapToLong(f -> f.toFile().length()).sum();
        }
    }

    /** A lazy move whose pages stopped: the service here was killed; it is recorded failed, and the move is over. */
    private void failed(ArrivingMove a, String why) {
        synchronized (a) {
            registry.find(a.service.name()).ifPresent(r -> registry.save(r.failed(why).arrived(new Arrival(a.id, a.from,
                    MoveStage.COMMITTED))));
            moves.remove(a.id);
        }
    }

    /**
     * A streamed move whose memory could not be copied in here (its copy was killed): the copy's
     * record and cell go too, so that the source, which still holds the whole service frozen, finds
     * no copy here at its commit and resumes its own. Its clients' connections may not survive: this
     * copy had answered them.
     */
    private void lostHere(ArrivingMove a, String why) {
        synchronized (a) {
            lost.put(a.id, why);
            registry.remove(a.service.name());
            moves.remove(a.id);
            a.cell.closeHoldControl();
            cells.destroy(a.service.name());
            CarriedFiles.remove(a.carried);
            log.error("move {}: {} removed from {}: {}", a.id, a.service.name(), config().node(), why);
        }
    }

    /** ANNOUNCE: gratuitous ARP from this node, so the switch and the clients learn where the VIP is now. */
    MoveMessages.Kept announce(String from, MoveMessages.MoveRef ref) throws Exception {
        faults.at("dest-announce");
        ServiceRecord r = arrived(ref.moveId()).orElseThrow(() -> notArrived(ref.moveId()));
        announce(cells.find(r.name()).orElseThrow(() -> new IllegalStateException("the cell of " + r.name() + " is gone")));
        return new MoveMessages.Kept(true, r.arrival().stage());
    }

    private void announce(ArrivingCell cell) throws ArpException {
        for (Announcement a : VipAnnouncements.of(cell.vips(), config().move().arpRepeats(), Duration.ofMillis(config().move().arpIntervalMs()))) {
            effects.announce(config().iface(), a);
        }
    }

    /** DRAIN: what the source buffered during the freeze goes into the restored service's stack, in order. */
    /** The packets the restore brought, into the running service's cell; one that cannot be injected is retransmitted by its client. */
    private static int injectAtRestore(ArrivingMove a, List<byte[]> packets) {
        if (packets.isEmpty()) {
            return 0;
        }
        try {
            return a.cell.inject(packets);
        } catch (RuntimeException e) {
            log.warn("move {}: {} buffered packets not injected at the restore ({}): the clients retransmit them", a.id, packets.size(),
                    e.getMessage());
            return 0;
        }
    }

    MoveMessages.Injected inject(String from, MoveMessages.Inject req) {
        ServiceRecord r = arrived(req.moveId())
                .orElseThrow(() -> new IllegalStateException("no move " + req.moveId() + " has arrived on " + config().node()));
        ArrivingCell cell = cells.find(r.name()).orElseThrow(() -> new IllegalStateException("the cell of " + r.name() + " is gone"));
        int n = cell.inject(req.packets());
        log.info("move {}: injected {} of {} buffered packets into {}", req.moveId(), n, req.packets().size(), cell.netnsName());
        return new MoveMessages.Injected(n);
    }

    /**
     * COMMIT: the service is this node's from now on (for a lazy move, once every page has arrived).
     * Idempotent: a replayed commit gets the first one's answer. A move that has not arrived here is
     * refused, and nothing changes.
     */
    MoveMessages.Kept commit(String from, MoveMessages.MoveRef ref) throws Exception {
        faults.at("dest-commit");
        ArrivingMove a = moves.get(ref.moveId());
        if (a != null && a.pages != null) {
            a.pages.await();
        }
        synchronized (this) {
            ServiceRecord r = arrived(ref.moveId()).orElseThrow(() -> notArrived(ref.moveId()));
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
     * here is kept (committed, its hold lifted and its VIP announced); a move that had not arrived is aborted, and the
     * source resumes its own. The answer is definite either way.
     */
    MoveMessages.Kept claim(String from, MoveMessages.MoveRef ref) throws Exception {
        if (dropUnlessArrived(ref.moveId(), from + " asked who has " + ref.name() + " before it arrived")) {
            return new MoveMessages.Kept(false, MoveStage.ABORTED);
        }
        Optional<ServiceRecord> r = arrived(ref.moveId());
        if (r.isPresent()) {
            // The restore may have failed past ARRIVED, before its hold was lifted (release is idempotent).
            cells.find(r.get().name()).ifPresent(ArrivingCell::release);
            announce(from, ref);
            return commit(from, ref);
        }
        String why = lost.remove(ref.moveId());
        log.info("move {}: {} asks who has {}: not this node{}", ref.moveId(), from, ref.name(), why == null ? "" : " (" + why + ")");
        return new MoveMessages.Kept(false, null);
    }

    /** The source gives up before the service arrived: whatever this node made for the move goes. Idempotent. */
    MoveMessages.Aborted abort(String from, MoveMessages.MoveRef ref) throws Exception {
        if (dropUnlessArrived(ref.moveId(), "aborted by " + from)) {
            return new MoveMessages.Aborted(true);
        }
        Optional<ServiceRecord> r = arrived(ref.moveId());
        if (r.isPresent()) {
            throw new IllegalStateException("move " + ref.moveId() + " is " + r.get().arrival().stage().label() + " on "
                    + config().node() + ": " + r.get().name() + " runs here and is not rolled back (a source that cannot tell asks"
                    + " with a claim)");
        }
        return new MoveMessages.Aborted(false);
    }

    /** The record of the service that arrived here by move {@code moveId}, if it did. */
    private Optional<ServiceRecord> arrived(String moveId) {
        return registry.all().stream().filter(r -> r.arrival() != null && r.arrival().id().equals(moveId)).findFirst();
    }

    private IllegalStateException notArrived(String moveId) {
        String why = lost.get(moveId);
        if (why != null) {
            return new IllegalStateException("move " + moveId + " lost its copy on " + config().node() + ": " + why);
        }
        ArrivingMove a = moves.get(moveId);
        return new IllegalStateException(a != null
                ? "move " + moveId + " has not arrived on " + config().node() + " (it is at stage " + a.stage().label() + ")"
                : "no move " + moveId + " arrived on " + config().node() + " (unknown move id, or it was aborted)");
    }

    private ArrivingMove incoming(String moveId) {
        ArrivingMove a = moves.get(moveId);
        if (a == null) {
            throw new IllegalStateException("no move " + moveId + " is under way on " + config().node());
        }
        return a;
    }

    /**
     * Drops move {@code moveId} if it is under way here and has not arrived (waiting for a restore in
     * progress to end first); whether it did.
     */
    private boolean dropUnlessArrived(String moveId, String why) throws Exception {
        ArrivingMove a = moves.get(moveId);
        if (a == null) {
            return false;
        }
        synchronized (a) {
            if (a.stage() == MoveStage.ARRIVED || moves.get(a.id) != a) {
                return false;
            }
            drop(a, why);
            return true;
        }
    }

    /** Under {@code a}'s lock: the move is over here, and what was made for it goes. */
    private void drop(ArrivingMove a, String why) throws Exception {
        moves.remove(a.id);
        a.drop(cells);
        log.info("move {}: {}; the cell of {} is gone", a.id, why, a.service.name());
    }

    private void forget(String moveId) throws IOException {
        ArrivingMove a = moves.remove(moveId);
        if (a != null) {
            a.cell.closeHoldControl();
        }
        if (a != null && a.sink != null) {
            a.sink.close();
        }
        if (a != null && a.pages == null) {
            a.images.close();
        }
    }

    /** CHECK (`svcmove check`): the checks of prepare, run now, without a cell or anything else. */
    MoveMessages.Checked check(String from, MoveMessages.Check c) {
        return new MoveMessages.Checked(config().node(), admission.checks(from, c.service().moving(null).arrived(null), c.criuVersion(),
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
        return Map.of(MoveMessages.Type.PREPARE, Messages.typed(MoveMessages.Prepare.class, this::prepare),
                MoveMessages.Type.RESTORE, Messages.typed(MoveMessages.Restore.class, this::restore),
                MoveMessages.Type.ANNOUNCE, Messages.typed(MoveMessages.MoveRef.class, this::announce),
                MoveMessages.Type.INJECT, Messages.typed(MoveMessages.Inject.class, this::inject),
                MoveMessages.Type.COMMIT, Messages.typed(MoveMessages.MoveRef.class, this::commit),
                MoveMessages.Type.ABORT, Messages.typed(MoveMessages.MoveRef.class, this::abort),
                MoveMessages.Type.CLAIM, Messages.typed(MoveMessages.MoveRef.class, this::claim),
                MoveMessages.Type.CHECK, Messages.typed(MoveMessages.Check.class, this::check));
    }
}
