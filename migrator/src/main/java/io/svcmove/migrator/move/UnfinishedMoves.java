package io.svcmove.migrator.move;

import com.fasterxml.jackson.databind.JsonNode;
import io.svcmove.arp.Announcement;
import io.svcmove.arp.ArpAnnouncer;
import io.svcmove.migrator.config.AgentConfig;
import io.svcmove.migrator.control.ControlMessage;
import io.svcmove.migrator.criu.FrozenTree;
import io.svcmove.migrator.peer.PeerClient;
import io.svcmove.migrator.service.ServiceRecord;
import io.svcmove.migrator.service.ServiceRecord.MoveInFlight;
import io.svcmove.migrator.service.ServiceRegistry;
import io.svcmove.vip.Cell;
import io.svcmove.vip.Cells;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Moves from this node that its agent did not see finish (it died with the service frozen): at
 * start, each is finished from what the service's record says. Before the destination was asked
 * to restore, the service resumes here. After, the destination is asked: a copy it restored is
 * kept there and the one here goes; otherwise the service resumes here. After a lazy restore the
 * destination has it in any case, and the copy here goes once CRIU has served its pages.
 */
public final class UnfinishedMoves {
    private static final Logger log = LoggerFactory.getLogger(UnfinishedMoves.class);
    private static final Duration CALL = Duration.ofSeconds(10);
    private static final Duration RETRY = Duration.ofSeconds(5);

    private final AgentConfig config;
    private final ServiceRegistry registry;
    private final Cells cells;
    private final PeerClient peers;
    private final ArpAnnouncer announcer;
    private final Object lock;

    /** @param lock {@link Moves#lock()}: no move, checkpoint or recovery runs while one is finished */
    public UnfinishedMoves(AgentConfig config, ServiceRegistry registry, Cells cells, PeerClient peers, ArpAnnouncer announcer,
            Object lock) {
        this.lock = lock;
        this.config = config;
        this.registry = registry;
        this.cells = cells;
        this.peers = peers;
        this.announcer = announcer;
    }

    /** Finishes each unfinished move on a thread of its own: a peer may answer late, the agent starts meanwhile. */
    public void start() {
        for (ServiceRecord r : registry.all()) {
            if (r.move() != null) {
                Thread t = new Thread(() -> {
                    synchronized (lock) {
                        finish(r);
                    }
                }, "unfinished-move-" + r.name());
                t.setDaemon(true);
                t.start();
            }
        }
    }

    private void finish(ServiceRecord r) {
        MoveInFlight m = r.move();
        Duration patience = Duration.ofSeconds(config.move().lazyTimeoutS());
        long deadline = System.nanoTime() + patience.toNanos();
        try {
            switch (m.stage()) {
                case MoveInFlight.FROZEN -> {
                    resumeHere(r, "the destination had not been asked to restore it");
                    tellQuietly(m.to(), "move.abort", r);
                }
                case MoveInFlight.HANDED_OVER -> {
                    FrozenTree copy = new FrozenTree(r.pid());
                    while (copy.traced() && System.nanoTime() < deadline) {
                        Thread.sleep(100);
                    }
                    dropCopy(r, "a lazy move restored it there");
                }
                default -> {
                    while (true) {
                        try {
                            JsonNode answer = Peers.await(peers.call(m.to(), "move.claim", request(r), CALL));
                            if (answer.path("kept").asBoolean()) {
                                dropCopy(r, "it had restored it");
                            } else {
                                resumeHere(r, m.to() + " had not restored it");
                            }
                            return;
                        } catch (Exception e) {
                            if (System.nanoTime() > deadline) {
                                throw new IllegalStateException(m.to() + " did not say within " + patience.toSeconds()
                                        + " s whether it restored " + r.name() + " (" + e.getMessage() + ")", e);
                            }
                            log.warn("{}: cannot ask {} whether it has it yet ({}); asking again in {} s", r.name(), m.to(),
                                    e.getMessage(), RETRY.toSeconds());
                            Thread.sleep(RETRY.toMillis());
                        }
                    }
                }
            }
        } catch (Exception e) {
            log.error("{}: the move {} to {} that this agent did not see finish could not be finished ({}): the service is frozen"
                    + " here; see 'svcmove status' on both nodes, then 'svcmove stop {}' on the node whose copy must go",
                    r.name(), m.id(), m.to(), e.getMessage(), r.name());
        }
    }

    /** The rollback, late: sockets out of repair mode, the tree running, the hold lifted, the VIP announced from here. */
    private void resumeHere(ServiceRecord r, String why) throws Exception {
        Cell cell = cells.find(r.name()).orElseThrow(() -> new IllegalStateException("its cell " + r.netns() + " is gone"));
        new FrozenTree(r.pid()).resume();
        cell.release();
        cell.linkUp();
        announcer.announce(r.iface(), Announcement.of(cell.vip().address(), r.mac())
                .withBurst(config.move().arpRepeats(), Duration.ofMillis(config.move().arpIntervalMs())));
        registry.save(r.moving(null));
        log.warn("{}: resumed here: the move {} to {} did not finish and {}", r.name(), r.move().id(), r.move().to(), why);
    }

    /** The commit, late: the frozen copy here and its cell go, and this node forgets the service. */
    private void dropCopy(ServiceRecord r, String why) throws Exception {
        new FrozenTree(r.pid()).kill(5, TimeUnit.SECONDS);
        cells.destroy(r.name());
        registry.remove(r.name());
        log.info("{}: the move {} to {} is finished: {} runs it now ({}); the frozen copy here is gone", r.name(), r.move().id(),
                r.move().to(), r.move().to(), why);
    }

    private JsonNode request(ServiceRecord r) {
        return ControlMessage.JSON.createObjectNode().put("move_id", r.move().id()).put("name", r.name());
    }

    private void tellQuietly(String node, String type, ServiceRecord r) {
        try {
            Peers.await(peers.call(node, type, request(r), CALL));
        } catch (Exception e) {
            log.info("{}: could not tell {} ({}); its agent removes the half-made cell when it restarts", r.name(), node,
                    e.getMessage());
        }
    }
}
