package io.svcmove.migrator.move;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.svcmove.arp.Announcement;
import io.svcmove.arp.ArpAnnouncer;
import io.svcmove.migrator.control.ControlMessage;
import io.svcmove.migrator.criu.Criu;
import io.svcmove.migrator.criu.DumpOptions;
import io.svcmove.migrator.criu.FrozenTree;
import io.svcmove.migrator.criu.ImageDir;
import io.svcmove.migrator.criu.NetworkLock;
import io.svcmove.migrator.criu.PageServerTls;
import io.svcmove.migrator.peer.PeerClient;
import io.svcmove.migrator.service.ServiceRecord.MoveInFlight;
import io.svcmove.migrator.service.ServiceRecord;
import io.svcmove.migrator.service.ServiceRegistry;
import io.svcmove.vip.Cell;
import io.svcmove.vip.Cells;
import io.svcmove.vip.PacketBuffer;
import io.svcmove.vip.ServiceLauncher;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The source's side of a move: it drives the whole sequence and talks to the destination's
 * {@link IncomingMoves}. Until the destination has committed, every failure resumes the frozen
 * tree here: the service keeps running where it was, its connections intact.
 */
public final class OutgoingMove {
    /** The key under which the cell's netns is external in CRIU's images and inherited on restore. */
    public static final String CELL_NETNS_KEY = "svcmove-cell-net";
    private static final Logger log = LoggerFactory.getLogger(OutgoingMove.class);
    private static final Duration CALL = Duration.ofSeconds(30);
    /** A killed lazy dump ends at once; CRIU's own abort grace bounds the rest. */
    private static final Duration STOP_GRACE = Duration.ofSeconds(15);

    private final Cells cells;
    private final ServiceRegistry registry;
    private final Criu criu;
    private final PeerClient peers;
    private final ArpAnnouncer announcer;
    private final Path logDir;
    private final MoveListener listener;

    public OutgoingMove(Cells cells, ServiceRegistry registry, Criu criu, PeerClient peers, ArpAnnouncer announcer,
            Path logDir, MoveListener listener) {
        this.logDir = logDir;
        this.announcer = announcer;
        this.cells = cells;
        this.registry = registry;
        this.criu = criu;
        this.peers = peers;
        this.listener = listener;
    }

    /** What a finished move reports: where the service runs now and what each phase took. */
    public record Report(String service, String from, String to, long pid, MoveRunner.Result result, long freezeMicros, long transferBytes,
            Drained buffer, boolean lazy, long lastPageMicros, String pagesFailure) {}

    /**
     * How a move is made: the packet buffer's size (0: no buffering, clients retransmit what the
     * freeze dropped); {@code lazy} null for an eager move (every page moves during the freeze).
     */
    public record Options(long bufferBytes, int arpRepeats, Duration arpInterval, Lazy lazy) {}

    /**
     * Post-copy: the source's CRIU serves the pages from {@code address:port} (TLS with the cluster's
     * certificates) until the destination has fetched them all, within {@code pagesTimeout}.
     */
    public record Lazy(String address, int port, PageServerTls tls, Duration pagesTimeout) {}

    /** What the packet buffer did: frames buffered, their bytes, those that did not fit, those injected. */
    public record Drained(int buffered, long bytes, long dropped, int injected) {
        static final Drained NONE = new Drained(0, 0, 0, 0);
    }

    public Report run(ServiceRecord svc, Cell cell, String destination, String criuVersion, Options options) throws MoveFailedException {
        String moveId = svc.name() + "-" + UUID.randomUUID().toString().substring(0, 8);
        ImageDir[] images = new ImageDir[1];
        PacketBuffer[] buffer = new PacketBuffer[1];
        Drained[] drained = {Drained.NONE};
        long[] freezeStart = new long[1];
        long[] freezeEnd = new long[1];
        long[] dumpEnd = new long[1];
        long[] newPid = new long[1];
        long[] bytes = new long[1];
        long[] lastPage = new long[1];
        String[] pagesFailure = new String[1];
        LazyDump lazyDump = options.lazy() == null ? null : new LazyDump();
        ObjectNode id = ControlMessage.JSON.createObjectNode().put("move_id", moveId);
        // The service's stdout pipe: CRIU restores it with no reader unless the destination's relay is inherited under its key.
        ObjectNode prepare = ControlMessage.JSON.createObjectNode().put("move_id", moveId).put("criu_version", criuVersion)
                .put("output_pipe", ServiceLauncher.outputPipe(svc.pid()));
        prepare.set("service", ControlMessage.JSON.valueToTree(svc));
        prepare.set("neighbors", ControlMessage.JSON.valueToTree(cell.neighbors()));

        List<Step> steps = List.of(
                Step.undoable(Phase.PREPARE, "destination builds the cell, held",
                        () -> call(destination, "move.prepare", prepare), () -> call(destination, "move.abort", id)),
                Step.undoable(Phase.PREPARE, "image directory on tmpfs",
                        () -> {
                            images[0] = ImageDir.create(IncomingMoves.imagePrefix(svc.node()) + moveId + "-");
                            Files.createDirectory(images[0].images());
                        }, () -> images[0].close()),
                Step.undoable(Phase.PREPARE, "nft ready in the cell", cell::openHoldControl, cell::closeHoldControl),
                Step.undoable(Phase.PREPARE, "packet buffer open", () -> {
                    if (options.bufferBytes() > 0) {
                        buffer[0] = PacketBuffer.open(svc.iface(), svc.mac(), options.bufferBytes());
                    }
                }, () -> {
                    if (buffer[0] != null) {
                        buffer[0].close();
                    }
                }),
                // From here an agent restarted mid-move finds the move in the service's state and finishes it (UnfinishedMoves).
                Step.undoable(Phase.PREPARE, "the move noted in the service's state",
                        () -> registry.save(svc.moving(new MoveInFlight(moveId, destination, MoveInFlight.FROZEN))),
                        () -> registry.save(svc)),
                Step.undoable(Phase.FREEZE, "hold the VIP's traffic", () -> {
                    freezeStart[0] = System.nanoTime();
                    if (buffer[0] != null) {
                        buffer[0].arm();
                    }
                    cell.hold();
                }, cell::release),
                lazyDump == null ? Step.undoable(Phase.FREEZE, "dump, leaving the tree stopped", () -> {
                    DumpOptions dump = dumpOptions(images[0], svc, cell).build();
                    CriuLogs.keptOnFailure(logDir, moveId, () -> criu.dump(dump, n -> listener.criu(n.script())));
                    dumpEnd[0] = System.nanoTime();
                }, () -> new FrozenTree(svc.pid()).resume())
                        : Step.undoable(Phase.FREEZE, "dump all but the memory, which CRIU then serves", () -> {
                            lazyDump.start(dumpOptions(images[0], svc, cell).lazyPages(options.lazy().address(), options.lazy().port(),
                                    options.lazy().tls()).build(), moveId);
                            dumpEnd[0] = System.nanoTime();
                        }, () -> {
                            // CRIU holds the tree while it serves pages and lets it run when killed: the sockets leave
                            // repair mode first, or the service's next write fails and it resets its connections.
                            try {
                                new FrozenTree(svc.pid()).resume();
                            } finally {
                                lazyDump.stop();
                            }
                        }),
                Step.of(Phase.TRANSFER, "images to the destination", () -> bytes[0] = Peers.await(peers.sendFiles(destination, moveId,
                        images[0].images(), listener::transferred)).bytes()),
                lazyDump == null ? Step.undoable(Phase.RESTORE, "destination restores and lifts its hold", () -> {
                    registry.save(svc.moving(new MoveInFlight(moveId, destination, MoveInFlight.RESTORING)));
                    newPid[0] = call(destination, "move.restore", restoreRequest(id, dumpEnd[0], null)).path("pid").asLong();
                    freezeEnd[0] = System.nanoTime();
                }, () -> call(destination, "move.abort", id))
                        // From here the service runs on the destination and changes its memory there: no rollback.
                        : Step.committing(Phase.RESTORE, "destination restores lazily and lifts its hold", () -> {
                            // Noted first: an agent restarted after this restore must not resume its frozen copy.
                            registry.save(svc.moving(new MoveInFlight(moveId, destination, MoveInFlight.HANDED_OVER)));
                            try {
                                newPid[0] = call(destination, "move.restore", restoreRequest(id, dumpEnd[0], options.lazy()))
                                        .path("pid").asLong();
                            } catch (Exception e) {
                                registry.save(svc.moving(new MoveInFlight(moveId, destination, MoveInFlight.FROZEN)));
                                throw e;
                            }
                            freezeEnd[0] = System.nanoTime();
                        }),
                Step.undoable(Phase.ANNOUNCE, "source stops answering for the VIP", cell::linkDown, () -> {
                    cell.linkUp();
                    announcer.announce(svc.iface(), Announcement.of(cell.vip().address(), svc.mac())
                            .withBurst(options.arpRepeats(), options.arpInterval()));
                }),
                Step.of(Phase.ANNOUNCE, "destination announces the VIP", () -> call(destination, "move.announce", id)),
                Step.of(Phase.DRAIN, "buffered frames to the destination", () -> drained[0] = drain(buffer[0], destination, moveId)),
                Step.of(Phase.COMMIT, "every page moved", () -> {
                    if (lazyDump != null) {
                        try {
                            lazyDump.await(options.lazy().pagesTimeout());
                        } catch (Exception e) {
                            pagesFailure[0] = e.getMessage();
                            throw e;
                        } finally {
                            lastPage[0] = System.nanoTime();
                        }
                    }
                }),
                Step.of(Phase.COMMIT, "destination keeps the service", () -> {
                    if (pagesFailure[0] == null) {
                        call(destination, "move.commit", id);
                    }
                }),
                Step.of(Phase.COMMIT, "source kills its frozen copy", () -> new FrozenTree(svc.pid()).kill(5, TimeUnit.SECONDS)),
                Step.of(Phase.COMMIT, "source removes its cell", () -> {
                    cell.closeHoldControl();
                    cells.destroy(svc.name());
                }),
                Step.of(Phase.COMMIT, "source forgets the service", () -> registry.remove(svc.name())),
                Step.of(Phase.COMMIT, "images deleted", () -> images[0].close()));

        MoveRunner.Result result = new MoveRunner(listener).run(steps);
        return new Report(svc.name(), svc.node(), destination, newPid[0], result, (freezeEnd[0] - freezeStart[0]) / 1000, bytes[0],
                drained[0], lazyDump != null, lazyDump == null ? 0 : (lastPage[0] - freezeStart[0]) / 1000, pagesFailure[0]);
    }

    /**
     * The restore request: how long the connections have been stopped, by this node's clock (their
     * TCP timestamps resume that much later), and for a lazy move where the pages are served.
     */
    private static ObjectNode restoreRequest(ObjectNode id, long dumpEnd, Lazy lazy) {
        ObjectNode r = id.deepCopy().put("since_dump_ms", (System.nanoTime() - dumpEnd) / 1_000_000);
        return lazy == null ? r : r.put("page_server", lazy.address()).put("page_port", lazy.port());
    }

    private DumpOptions.Builder dumpOptions(ImageDir images, ServiceRecord svc, Cell cell) throws IOException {
        return DumpOptions.builder(images.images(), svc.pid(), NetworkLock.SKIP).workDir(images.path()).tcpEstablished(true).leaveStopped(true)
                .externalNetns(cell.netnsInode(), CELL_NETNS_KEY);
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
                    CriuLogs.keptOnFailure(logDir, moveId, () -> criu.dump(dump, n -> {
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
            Peers.await(imagesWritten);
        }

        void await(Duration timeout) throws Exception {
            try {
                pagesServed.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                stop();
                throw new IOException("the destination had not fetched every page within " + timeout.toSeconds()
                        + " s; the page server was stopped (a slow link needs a larger [move] lazy_timeout_s)");
            } catch (ExecutionException e) {
                throw e.getCause() instanceof Exception c ? c : e;
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
    private Drained drain(PacketBuffer buffer, String destination, String moveId) {
        if (buffer == null) {
            return Drained.NONE;
        }
        PacketBuffer.Contents c = buffer.stop();
        int injected = 0;
        if (!c.packets().isEmpty()) {
            try {
                ObjectNode body = ControlMessage.JSON.createObjectNode().put("move_id", moveId);
                ArrayNode list = body.putArray("packets");
                c.packets().forEach(list::add);
                injected = call(destination, "move.inject", body).path("injected").asInt();
            } catch (Exception e) {
                log.warn("move {}: {} buffered packets not injected ({}): the clients retransmit them", moveId, c.packets().size(),
                        e.getMessage());
            }
        }
        return new Drained(c.packets().size(), c.bytes(), c.dropped(), injected);
    }

    private JsonNode call(String node, String type, JsonNode body) throws Exception {
        return Peers.await(peers.call(node, type, body, CALL));
    }
}
