package io.svcmove.migrator.move;

import io.svcmove.arp.Announcement;
import io.svcmove.arp.ArpAnnouncer;
import io.svcmove.arp.ArpException;
import io.svcmove.migrator.criu.Criu;
import io.svcmove.migrator.criu.DumpOptions;
import io.svcmove.migrator.criu.DumpResult;
import io.svcmove.migrator.criu.ImageDir;
import io.svcmove.migrator.criu.NetworkLock;
import io.svcmove.migrator.criu.PageServerTls;
import io.svcmove.migrator.peer.Messages;
import io.svcmove.migrator.peer.PeerClient;
import io.svcmove.migrator.peer.PeerNotReachedException;
import io.svcmove.migrator.pki.ClusterPki;
import io.svcmove.migrator.pki.MovePageAuthority;
import io.svcmove.migrator.service.CarriedFiles;
import io.svcmove.migrator.service.MoveStage;
import io.svcmove.migrator.service.ServiceRecord;
import io.svcmove.migrator.service.ServiceRecord.MoveInFlight;
import io.svcmove.migrator.service.ServiceRegistry;
import io.svcmove.migrator.service.VipAnnouncements;
import io.svcmove.vip.Cells;
import io.svcmove.vip.PacketBuffer;
import io.svcmove.vip.Vips;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BiFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The source's side of a move: its step table ({@link #steps}), which it runs live and which an
 * agent restarted mid-move runs again from the recorded stage ({@link #recover}). It talks to the
 * destination's {@link IncomingMoves}. Before the point of no return every failure resumes the
 * frozen tree here; after it the frozen copy stays until the destination has said it keeps the
 * service.
 */
public final class OutgoingMove {
    /** The key under which the cell's netns is external in CRIU's images and inherited on restore. */
    public static final String CELL_NETNS_KEY = "svcmove-cell-net";
    private static final Logger log = LoggerFactory.getLogger(OutgoingMove.class);
    /** A killed lazy dump ends at once; CRIU's own abort grace bounds the rest. */
    private static final Duration STOP_GRACE = Duration.ofSeconds(15);
    /** The page CA outlives the move's own bounds by this much, and no more: it is never valid for another move. */
    private static final Duration PAGE_CA_MARGIN = Duration.ofMinutes(2);
    /** The move's page CA, in the move's work directory (tmpfs, 0700), for CRIU's --tls-cacert. */
    private static final String PAGE_CA = "page-ca.crt";
    /** A streamed move's certificate for the destination's page server, made by it for the move (beside the images, tmpfs). */
    private static final String STREAM_CERTIFICATE = "stream.crt";
    /**
     * Buffered packets per message to the destination (the restore's, each of the drain's): base64 in
     * JSON makes them a third larger, and a peer message is at most 16 MiB (the buffer's default size).
     */
    static final long INJECT_BATCH_BYTES = 4 << 20;

    private final Effects effects;
    private final ServiceRegistry registry;
    private final Path logDir;
    private final MoveListener listener;
    private final FaultInjection faults;
    private final Options options;

    public OutgoingMove(Effects effects, ServiceRegistry registry, Path logDir, MoveListener listener, FaultInjection faults,
            Options options) {
        this.effects = effects;
        this.registry = registry;
        this.logDir = logDir;
        this.listener = listener;
        this.faults = faults;
        this.options = options;
    }

    /**
     * Everything a move does outside the agent's own memory and records, each behind a small face:
     * the node's cells, CRIU, the link to the destination, gratuitous ARP, the frozen copy's
     * processes. {@link #on} wires a node's; tests give fakes.
     */
    public record Effects(CellStore<SourceCell> cells, Criu criu, DestinationLink destination, Announcer announcer,
            BiFunction<ServiceRecord, Optional<SourceCell>, SourceCopy> copies) {
        public static Effects on(Cells cells, Criu criu, PeerClient peers, ArpAnnouncer announcer) {
            return new Effects(CellStore.of(cells, SourceCell::of), criu, DestinationLink.over(peers), announcer::announce, SourceCopy::of);
        }
    }

    /** Gratuitous ARP from this node. */
    @FunctionalInterface
    public interface Announcer {
        void announce(String iface, Announcement announcement) throws ArpException;
    }

    /**
     * What a finished move reports: where the service runs now and what each phase took; a pre-copy
     * move its rounds and the pages of its final dump (the only ones moved during the freeze).
     */
    public record Report(String service, String from, String to, long pid, MoveRunner.Result result, long freezeMicros, long transferBytes,
            Drained buffer, boolean lazy, long lastPageMicros, String pagesFailure, List<Round> precopyRounds, long finalDumpPages,
            long memoryAfterBytes) {
        /** The mode it ran in, as --json, metrics and `svcmove moves` name it. */
        public String mode() {
            return lazy ? "lazy" : precopyRounds.isEmpty() ? "eager" : "precopy";
        }
    }

    /** One pre-copy round: the pages CRIU wrote while the service ran, the bytes sent, and how long both took. */
    public record Round(int round, long pages, long bytes, long micros) {}

    /**
     * How a move is made: the packet buffer's size (0: no buffering, clients retransmit what the
     * freeze dropped); {@code lazy} null for an eager move (every page moves during the freeze);
     * {@code precopy}: pre-dump rounds while the service runs first ({@link PrecopyPolicy}), then
     * an eager freeze of what they left; {@code call} bounds each call to the destination,
     * {@code pagesTimeout} a lazy move's pages; {@code stream}: this node's certificates, with
     * which an eager move streams the memory from its dump into the destination's page server
     * ({@link PageSink}; the destination may decline), null to send it after the dump.
     */
    public record Options(long bufferBytes, int arpRepeats, Duration arpInterval, Lazy lazy, boolean precopy, Duration call,
            Duration pagesTimeout, Stream stream) {
        public Options {
            if (lazy != null && precopy) {
                throw new IllegalArgumentException("a move is lazy or pre-copied, not both");
            }
        }
    }

    /** This node's page server certificates and its node certificate (PEM), for a streamed move. */
    public record Stream(PageServerTls tls, String certificate) {}

    /** Post-copy: the source's CRIU serves the pages from {@code address:port} (TLS with the cluster's certificates). */
    public record Lazy(String address, int port, PageServerTls tls, X509Certificate clusterCa, InetAddress destination) {}

    /** What the packet buffer did: frames buffered, their bytes, those that did not fit, those injected. */
    public record Drained(int buffered, long bytes, long dropped, int injected) {
        static final Drained NONE = new Drained(0, 0, 0, 0);
    }

    /** Everything one move holds while it runs; in a recovery only what the record tells is known. */
    private static final class Context {
        final String id;
        final ServiceRecord svc;
        final String to;
        final boolean lazy;
        final Optional<SourceCell> cell;
        final SourceCopy copy;
        /** The move as the service's record has it now (in a recovery: as the agent found it). */
        MoveInFlight recorded;
        ImageDir images;
        PacketBuffer buffer;
        /** The buffered packets the restore request carried, and how many of them the destination injected. */
        List<byte[]> withRestore = List.of();
        int injectedAtRestore;
        /** The memory the destination copied in after its restore (a large streamed move), 0 if none. */
        long memoryAfter;
        LazyDump lazyDump;
        MoveMessages.Prepared prepared;
        /** A lazy move's page server certificates, and the one certificate it accepts (PEM), for the destination. */
        PageServerTls pageTls;
        String pageCertificate;
        Drained drained = Drained.NONE;
        long freezeStart;
        long dumpEnd;
        long freezeEnd;
        long newPid;
        long bytes;
        final List<Round> rounds = new ArrayList<>();
        long finalPages;
        long lastPage;
        String pagesFailure;
        /** The files carried in the images, by path ({@link CarriedFiles#pack}); empty in a recovery. */
        Map<String, Object> carried = Map.of();
        /** The restore request never reached the destination (no connection): it cannot have restored. */
        boolean restoreNotSent;

        Context(String id, ServiceRecord svc, String to, boolean lazy, Optional<SourceCell> cell, SourceCopy copy) {
            this.id = id;
            this.svc = svc;
            this.to = to;
            this.lazy = lazy;
            this.cell = cell;
            this.copy = copy;
            this.recorded = svc.move();
        }

        SourceCell cell() {
            return cell.orElseThrow(() -> new IllegalStateException("the cell of " + svc.name() + " is gone from " + svc.node()));
        }

        MoveMessages.MoveRef ref() {
            return new MoveMessages.MoveRef(id, svc.name());
        }
    }

    public Report run(ServiceRecord svc, SourceCell cell, String destination, String criuVersion)
            throws MoveFailedException, MoveUnresolvedException {
        Context c = new Context(svc.name() + "-" + UUID.randomUUID().toString().substring(0, 8), svc, destination,
                options.lazy() != null, Optional.of(cell), effects.copies().apply(svc, Optional.of(cell)));
        if (c.lazy) {
            c.lazyDump = new LazyDump();
        }
        // Pre-copy's final dump is not streamed: CRIU's page server would need the rounds as its parent images.
        String streamFrom = options.stream() == null || c.lazy || options.precopy() ? null : options.stream().certificate();
        MoveMessages.Prepare prepare = new MoveMessages.Prepare(c.id, criuVersion, ServiceFiles.of(svc.name(), svc.node(),
                cell.pids()), svc, cell.neighbors(), NodeResources.Needs.of(cell.pids(), c.lazy), streamFrom);
        MoveRunner.Result result;
        try {
            result = new MoveRunner(listener, journal(c), faults).run(steps(c, prepare));
        } catch (MoveUnresolvedException e) {
            // Recovery finishes it from the record; what only this run holds is let go (a lazy dump's CRIU serves on).
            if (c.buffer != null) {
                c.buffer.close();
            }
            cell.closeHoldControl();
            throw e;
        }
        return new Report(svc.name(), svc.node(), destination, c.newPid, result, (c.freezeEnd - c.freezeStart) / 1000, c.bytes,
                c.drained, c.lazy, c.lazy ? (c.lastPage - c.freezeStart) / 1000 : 0, c.pagesFailure, List.copyOf(c.rounds),
                c.finalPages, c.memoryAfter);
    }

    /** Finishes the move {@code svc} records, from its stage, for an agent that did not see it end. */
    public MoveRunner.Result recover(ServiceRecord svc) throws MoveFailedException, MoveUnresolvedException {
        MoveInFlight m = svc.move();
        Optional<SourceCell> cell = effects.cells().find(svc.name());
        Context c = new Context(m.id(), svc, m.to(), m.lazy(), cell, effects.copies().apply(svc, cell));
        return new MoveRunner(listener, journal(c), faults).recover(steps(c, null), m.stage());
    }

    /** The move's stage goes into the service's record, durably, before the step that enters it acts. */
    private MoveRunner.Journal journal(Context c) {
        return stage -> {
            c.recorded = c.recorded == null ? new MoveInFlight(c.id, c.to, stage, c.lazy) : c.recorded.at(stage);
            // Aborted: the service is recorded as before the move, which is over.
            registry.save(c.svc.moving(stage == MoveStage.ABORTED ? null : c.recorded));
            log.info("move {}: {} at stage {}", c.id, c.svc.name(), stage.label());
        };
    }

    /** The step table of a move from here. {@code prepare} is null in a recovery (that step is then only undone). */
    private List<Step> steps(Context c, MoveMessages.Prepare prepare) {
        return List.of(
                Step.undoable(Phase.PREPARE, "prepare", "destination builds the cell, held",
                        () -> c.prepared = call(c, MoveMessages.Type.PREPARE, prepare, MoveMessages.Prepared.class), () -> abort(c))
                        .entering(MoveStage.PREPARED).alsoUndoneIfItFails(),
                Step.undoable(Phase.PREPARE, "images", "image directory on tmpfs", () -> {
                    c.images = ImageDir.create(IncomingMoves.imagePrefix(c.svc.node()) + c.id + "-");
                    Files.createDirectory(c.images.images());
                }, () -> closeImages(c)),
                Step.undoable(Phase.PREPARE, "hold-control", "nft ready in the cell", () -> c.cell().openHoldControl(),
                        () -> c.cell.ifPresent(SourceCell::closeHoldControl)),
                Step.undoable(Phase.PREPARE, "page-gate", "a lazy move's page server open to the destination only",
                        () -> openPageGate(c), () -> closePageGate(c)),
                Step.undoable(Phase.PREPARE, "buffer", "packet buffer open", () -> {
                    if (options.bufferBytes() > 0) {
                        c.buffer = PacketBuffer.open(c.svc.iface(), c.svc.mac(), options.bufferBytes());
                    }
                }, () -> reinject(c)),
                // The service runs on: a failed round leaves nothing to undo here but its images, which go with the move's.
                Step.of(Phase.PRECOPY, "pre-dump", "pre-dump rounds to the destination while the service runs", () -> preCopy(c)),
                // Before CRIU starts, not at its network-lock: a datagram that reaches the frozen tree's UDP socket
                // before that lock would be lost (CRIU dumps no UDP queue; UdpMoveIT caught it).
                Step.undoable(Phase.FREEZE, "hold", "hold the VIP's traffic", () -> {
                    c.freezeStart = System.nanoTime();
                    if (c.buffer != null) {
                        c.buffer.arm();
                    }
                    c.cell().hold();
                }, () -> c.cell.ifPresent(SourceCell::release)).entering(MoveStage.FROZEN),
                // A failed dump is undone too: CRIU lets the tree go itself, but the resume is what takes
                // sockets it put in repair mode out of it (and is harmless on a running tree).
                (c.lazy ? Step.undoable(Phase.FREEZE, "dump", "dump all but the memory, which CRIU then serves", () -> {
                    c.lazyDump.start(dumpOptions(c, c.images.images()).leaveStopped(true)
                            .lazyPages(options.lazy().address(), options.lazy().port(), c.pageTls).build(), c.id);
                    dumped(c);
                }, () -> {
                    // CRIU holds the tree while it serves pages and lets it run when killed: the sockets leave
                    // repair mode first, or the service's next write fails and it resets its connections.
                    // In a recovery that CRIU is the one the dead agent started, if it still serves.
                    try {
                        c.copy.resume();
                    } finally {
                        if (c.lazyDump != null) {
                            c.lazyDump.stop();
                        } else {
                            c.copy.stopLeftServer(effects.criu()::isCriu);
                        }
                    }
                })
                        : Step.undoable(Phase.FREEZE, "dump", "dump, leaving the tree stopped", () -> {
                            DumpOptions dump = streamed(c, afterRounds(c, dumpOptions(c, c.images.images()).leaveStopped(true))).build();
                            c.finalPages = CriuLogs.keptOnFailure(logDir, c.id, () -> effects.criu().dump(dump,
                                    n -> listener.criu(n.script()))).stats().pagesWritten();
                            dumped(c);
                        }, c.copy::resume)).alsoUndoneIfItFails(),
                Step.of(Phase.TRANSFER, "transfer", "images to the destination", () -> c.bytes = effects.destination().send(c.to, c.id,
                        c.images.images(), listener::transferred)),
                Step.undoable(Phase.RESTORE, "restore", c.lazy ? "destination restores lazily and lifts its hold"
                        : "destination restores and lifts its hold", () -> {
                            try {
                                MoveMessages.Restored restored = call(c, MoveMessages.Type.RESTORE, restoreRequest(c),
                                        MoveMessages.Restored.class);
                                c.newPid = restored.pid();
                                c.injectedAtRestore = restored.injected();
                                c.memoryAfter = restored.memoryAfterBytes();
                            } catch (PeerNotReachedException e) {
                                c.restoreNotSent = true;
                                throw e;
                            }
                            c.freezeEnd = System.nanoTime();
                        }, () -> claimOrAbort(c)).entering(MoveStage.RESTORING).alsoUndoneIfItFails(),
                // Past the point of no return: the destination's copy has answered clients.
                Step.undoable(Phase.ANNOUNCE, "link-down", "source stops answering for the VIP", () -> c.cell.ifPresent(SourceCell::linkDown),
                        () -> {
                            c.cell().linkUp();
                            for (Announcement a : VipAnnouncements.of(Vips.parse(c.svc.vip()), options.arpRepeats(), options.arpInterval())) {
                                effects.announcer().announce(c.svc.iface(), a);
                            }
                        }).entering(c.lazy ? MoveStage.HANDED_OVER : MoveStage.ARRIVED),
                Step.of(Phase.ANNOUNCE, "announce", "destination announces the VIP", () -> kept(c, MoveMessages.Type.ANNOUNCE)),
                Step.of(Phase.DRAIN, "drain", "buffered frames to the destination", () -> c.drained = drain(c)),
                Step.of(Phase.COMMIT, "pages", "every page moved", () -> awaitPages(c)),
                Step.of(Phase.COMMIT, "commit", "destination keeps the service", () -> commit(c)),
                Step.of(Phase.COMMIT, "kill-copy", "source kills its frozen copy", c.copy::kill).entering(MoveStage.COMMITTED),
                Step.of(Phase.COMMIT, "remove-cell", "source removes its cell", () -> {
                    c.cell.ifPresent(SourceCell::closeHoldControl);
                    effects.cells().destroy(c.svc.name());
                }),
                Step.of(Phase.COMMIT, "uncarry", "source removes the files the service carried", () -> CarriedFiles.removeCopied(c.carried)),
                Step.of(Phase.COMMIT, "forget", "source forgets the service", () -> registry.remove(c.svc.name())),
                Step.of(Phase.COMMIT, "images-gone", "images deleted", () -> closeImages(c)),
                Step.of(Phase.COMMIT, "page-gate-closed", "a lazy move's page server rule removed", () -> closePageGate(c)));
    }

    /**
     * Undo of the buffer: by now the tree runs here again, its hold lifted. What its clients sent
     * during the freeze goes into its own cell, so that they get answers at once instead of after
     * their retransmission timer (which backs off: after a freeze of the call timeout, seconds).
     */
    private void reinject(Context c) {
        if (c.buffer == null) {
            return;
        }
        try {
            // A restore that took packets along and failed injected none of them: the destination injects only once arrived.
            List<byte[]> packets = new ArrayList<>(c.withRestore);
            packets.addAll(c.buffer.stop().packets());
            if (!packets.isEmpty() && c.cell.isPresent()) {
                int n = c.cell.get().inject(packets);
                log.info("move {}: rolled back; {} of {} frames its clients sent during the freeze injected here", c.id, n,
                        packets.size());
            }
        } catch (RuntimeException e) {
            log.warn("move {}: frames buffered during the freeze not injected here ({}): the clients retransmit them", c.id,
                    e.getMessage());
        } finally {
            c.buffer.close();
        }
    }

    /** The tree is dumped and still frozen: what it wrote to its carried files is final, and goes with the images. */
    private static void dumped(Context c) throws IOException {
        c.dumpEnd = System.nanoTime();
        c.carried = CarriedFiles.pack(c.svc.carry(), c.images.images());
    }

    /** The move's image directory goes; in a recovery (or after an unresolved end) it is found by its name. */
    private static void closeImages(Context c) throws IOException {
        if (c.images != null) {
            c.images.close();
        } else {
            ImageDir.removeLeftovers(IncomingMoves.imagePrefix(c.svc.node()) + c.id + "-");
        }
    }

    /** Undo of prepare: the destination drops what it made. Unanswered is fine: it drops a held cell whose move is over by itself. */
    private void abort(Context c) {
        try {
            call(c, MoveMessages.Type.ABORT, c.ref(), MoveMessages.Aborted.class);
        } catch (Exception e) {
            log.info("move {}: {} did not confirm the abort ({}); it drops its held cell once it learns the move is over", c.id, c.to,
                    e.getMessage());
        }
    }

    /**
     * Undo of restore: only the destination knows whether it restored (its answer may be what was
     * lost). It keeps a copy it has (then the move goes on: {@link Step.AlreadyArrived}) or drops
     * everything else; without its answer nothing here may resume, unless the request never left.
     * (A destination whose agent died before the restore then costs a rollback, not a frozen service.)
     */
    private void claimOrAbort(Context c) throws Step.AlreadyArrived, Step.Unresolved {
        if (c.restoreNotSent) {
            return; // prepare's undo drops the held cell
        }
        MoveMessages.Kept k;
        try {
            k = call(c, MoveMessages.Type.CLAIM, c.ref(), MoveMessages.Kept.class);
        } catch (Exception e) {
            throw new Step.Unresolved(c.to + " did not say whether it restored " + c.svc.name() + " (" + e.getMessage() + ")", e);
        }
        if (k.kept()) {
            throw new Step.AlreadyArrived(c.to + " has restored " + c.svc.name());
        }
    }

    /** The destination records the service as its own ({@link #kept}). */
    private void commit(Context c) throws Exception {
        if (c.pagesFailure != null) {
            return; // the destination killed its copy and marked it failed; nothing to keep
        }
        kept(c, MoveMessages.Type.COMMIT);
    }

    /**
     * A call past the restore that needs the service on the destination (announce, commit). An
     * answer other than "kept" is asked again as a claim, whose answer is definite: a destination
     * without a copy (it lost it) leaves the frozen copy here as the only one, and it resumes.
     */
    private void kept(Context c, String type) throws Exception {
        MoveMessages.Kept k;
        String refused = null;
        try {
            k = call(c, type, c.ref(), MoveMessages.Kept.class);
        } catch (Exception e) {
            if (!Peers.answered(e)) {
                throw e;
            }
            refused = e.getMessage();
            k = call(c, MoveMessages.Type.CLAIM, c.ref(), MoveMessages.Kept.class);
        }
        if (!k.kept()) {
            throw new Step.DestinationLacksIt(c.to + " has no copy of " + c.svc.name() + (refused == null
                    ? " (its node may have restarted)" : ": " + refused));
        }
    }

    /** A lazy move's pages: served by the dump live; in a recovery, CRIU (which may outlive an agent) is waited for. */
    private void awaitPages(Context c) throws Exception {
        if (!c.lazy) {
            return;
        }
        try {
            if (c.lazyDump != null) {
                c.lazyDump.await(options.pagesTimeout());
            } else {
                c.copy.awaitServed(options.pagesTimeout());
            }
        } catch (Exception e) {
            c.pagesFailure = e.getMessage();
        } finally {
            c.lastPage = System.nanoTime();
        }
    }

    /**
     * The restore carries what the clients sent so far: the destination injects it the moment the
     * service runs, so that they are answered at the end of the freeze, not after the announce and
     * the drain.
     */
    private MoveMessages.Restore restoreRequest(Context c) {
        long since = (System.nanoTime() - c.dumpEnd) / 1_000_000;
        c.withRestore = c.buffer == null ? List.of() : c.buffer.take(INJECT_BATCH_BYTES);
        return c.lazy ? new MoveMessages.Restore(c.id, since, options.lazy().address(), options.lazy().port(), c.pageCertificate, 0,
                c.withRestore) : new MoveMessages.Restore(c.id, since, null, 0, null, c.rounds.size(), c.withRestore);
    }

    /**
     * A lazy move's page server, narrowed to this move before it listens: it trusts only a CA made
     * for the move, which certifies the destination's own node key (the one in the certificate it
     * gave at prepare, checked against the cluster CA) under its name and address; and the firewall
     * lets only that address reach its port.
     */
    private void openPageGate(Context c) throws IOException {
        if (!c.lazy) {
            return;
        }
        Lazy lazy = options.lazy();
        X509Certificate destination = ClusterPki.peerCertificate(c.to, c.prepared.certificate(), lazy.clusterCa());
        MovePageAuthority ca = MovePageAuthority.create(c.id, options.pagesTimeout().plus(options.call()).plus(PAGE_CA_MARGIN));
        Path caFile = c.images.path().resolve(PAGE_CA);
        ca.writeCertificate(caFile);
        c.pageTls = lazy.tls().trusting(caFile);
        c.pageCertificate = ClusterPki.toPem(ca.issue(destination, lazy.destination()));
        PageFirewall.open(c.id, lazy.port(), lazy.destination());
        log.info("move {}: page server {}:{} accepts only {} from {}, with a certificate made for this move", c.id, lazy.address(),
                lazy.port(), c.to, lazy.destination().getHostAddress());
    }

    /** The page server's rule goes (by the move's id, so a recovery finds it too); a failure to remove it only leaves a dead rule. */
    private void closePageGate(Context c) {
        if (c.lazy) {
            PageFirewall.closeLogged(c.id, c.to);
        }
    }

    /** A dump or pre-dump of the service's tree into {@code images}; CRIU's logs and stats go to the move's directory. */
    private DumpOptions.Builder dumpOptions(Context c, Path images) throws IOException {
        return DumpOptions.builder(images, c.svc.pid(), NetworkLock.SKIP).workDir(c.images.path()).tcpEstablished(true)
                .externalNetns(c.cell().netnsInode(), CELL_NETNS_KEY);
    }

    /**
     * A destination that opened a page server for the move gets the memory from the dump itself,
     * this node presenting the certificate it made for the move; the images keep the rest.
     */
    private DumpOptions.Builder streamed(Context c, DumpOptions.Builder dump) throws IOException {
        if (!c.prepared.streams()) {
            return dump;
        }
        Path cert = c.images.path().resolve(STREAM_CERTIFICATE);
        Files.writeString(cert, c.prepared.pageCertificate(), StandardCharsets.US_ASCII, StandardOpenOption.CREATE_NEW);
        return dump.streamPages(c.prepared.pageServer(), c.prepared.pagePort(), options.stream().tls().presenting(cert));
    }

    /** After pre-copy rounds, a dump takes only the pages written since the last one (CRIU links it as its parent). */
    private static DumpOptions.Builder afterRounds(Context c, DumpOptions.Builder dump) {
        return c.rounds.isEmpty() ? dump : dump.trackMem(true).parent(PrecopyImages.parent(c.rounds.size()));
    }

    /**
     * Pre-copy: rounds of {@code criu pre-dump} while the service runs, each into its own directory
     * (the previous round its parent, so each takes only what was written since), each sent to the
     * destination at once, until {@link PrecopyPolicy} says the rest is small or stops shrinking.
     */
    private void preCopy(Context c) throws Exception {
        if (!options.precopy()) {
            return;
        }
        List<Long> pages = new ArrayList<>();
        for (int n = 1; PrecopyPolicy.stop(pages).isEmpty(); n++) {
            long start = System.nanoTime();
            Path dir = Files.createDirectory(c.images.path().resolve(PrecopyImages.dir(n)));
            DumpOptions.Builder round = dumpOptions(c, dir).trackMem(true).logFile("pre-dump-" + n + ".log");
            DumpOptions dump = (n > 1 ? round.parent(PrecopyImages.parent(n - 1)) : round).build();
            DumpResult r = CriuLogs.keptOnFailure(logDir, c.id, () -> effects.criu().preDump(dump, x -> listener.criu(x.script())));
            long bytes = effects.destination().send(c.to, PrecopyImages.transferId(c.id, n), dir, listener::transferred);
            PrecopyImages.releasePages(dir);
            Round done = new Round(n, r.stats().pagesWritten(), bytes, (System.nanoTime() - start) / 1000);
            c.rounds.add(done);
            pages.add(done.pages());
            listener.precopyRound(done);
        }
        log.info("move {}: pre-copy of {} ends after {} rounds: {}", c.id, c.svc.name(), c.rounds.size(),
                PrecopyPolicy.stop(pages).orElseThrow());
    }

    /**
     * A lazy dump runs on past the freeze: CRIU writes the images, reports post-dump, and then serves
     * the pages until the destination has them all; only then does its call return.
     */
    private final class LazyDump {
        private final CompletableFuture<Void> imagesWritten = new CompletableFuture<>();
        private final CompletableFuture<Void> pagesServed = new CompletableFuture<>();
        private Thread thread;

        /** Starts the dump and returns once the images are written (the memory is still in the frozen tree). */
        void start(DumpOptions dump, String moveId) throws Exception {
            thread = new Thread(() -> {
                try {
                    CriuLogs.keptOnFailure(logDir, moveId, () -> effects.criu().dump(dump, n -> {
                        listener.criu(n.script());
                        if (n.script().equals("post-dump")) {
                            imagesWritten.complete(null);
                        }
                    }));
                    pagesServed.complete(null);
                } catch (Exception e) {
                    imagesWritten.completeExceptionally(e);
                    pagesServed.completeExceptionally(e);
                }
            }, "lazy-dump-" + moveId);
            thread.setDaemon(true);
            thread.start();
            Messages.await(imagesWritten);
        }

        void await(Duration timeout) throws Exception {
            try {
                pagesServed.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                stop();
                throw new IOException("the destination had not fetched every page within " + timeout.toSeconds()
                        + " s; the page server was stopped (a slow link needs a larger [move] lazy_timeout_s)");
            } catch (ExecutionException e) {
                throw e.getCause() instanceof Exception cause ? cause : e;
            }
        }

        /** Stops serving (CRIU is killed: nothing else ends a lazy page server) and waits for the dump's thread. */
        void stop() throws InterruptedException {
            if (thread != null) {
                thread.interrupt();
                thread.join(STOP_GRACE.toMillis());
            }
        }
    }

    /**
     * Stops the buffer, after the destination's announcement turned the clients' frames towards it,
     * and has the destination inject what came here meanwhile. Never fails the move: the service
     * already runs there, and a frame that is not injected is one the client retransmits.
     */
    private Drained drain(Context c) {
        if (c.buffer == null) {
            return Drained.NONE;
        }
        PacketBuffer.Contents contents = c.buffer.stop();
        int injected = c.injectedAtRestore;
        List<List<byte[]>> batches = batches(contents.packets());
        for (int i = 0; i < batches.size(); i++) {
            try {
                injected += call(c, MoveMessages.Type.INJECT, new MoveMessages.Inject(c.id, batches.get(i)),
                        MoveMessages.Injected.class).injected();
            } catch (Exception e) {
                int left = batches.subList(i, batches.size()).stream().mapToInt(List::size).sum();
                log.warn("move {}: {} buffered packets not injected ({}): the clients retransmit them", c.id, left, e.getMessage());
                break;
            }
        }
        return new Drained(c.withRestore.size() + contents.packets().size(), contents.bytes(), contents.dropped(), injected);
    }

    /** Consecutive runs of {@code packets}, each within {@link #INJECT_BATCH_BYTES} (a packet larger than that, alone). */
    static List<List<byte[]>> batches(List<byte[]> packets) {
        List<List<byte[]>> out = new ArrayList<>();
        List<byte[]> batch = new ArrayList<>();
        long bytes = 0;
        for (byte[] p : packets) {
            if (!batch.isEmpty() && bytes + p.length > INJECT_BATCH_BYTES) {
                out.add(batch);
                batch = new ArrayList<>();
                bytes = 0;
            }
            batch.add(p);
            bytes += p.length;
        }
        if (!batch.isEmpty()) {
            out.add(batch);
        }
        return out;
    }

    private <T> T call(Context c, String type, Object request, Class<T> reply) throws Exception {
        return effects.destination().call(c.to, type, request, reply, options.call());
    }
}
