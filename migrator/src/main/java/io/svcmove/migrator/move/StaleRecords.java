package io.svcmove.migrator.move;

import io.svcmove.migrator.config.AgentConfig;
import io.svcmove.migrator.peer.PeerClient;
import io.svcmove.migrator.service.Services;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node that was down (crashed, powered off) comes back with the records of the services it ran,
 * while each may have been recovered from its checkpoint, or moved, elsewhere. A record whose
 * process is not the service's any more (after a reboot its PID is free or another process's) is
 * asked about on every peer; one that runs the service makes the record here stale, and it goes
 * with any cell left of it: this node neither restarts the service nor claims its VIP. Until a peer
 * says so the record stays, reported dead ('svcmove stop' clears it). Peers are asked again every
 * {@code every} for {@code rounds} rounds, as they may come up after this node.
 */
public final class StaleRecords {
    private static final Logger log = LoggerFactory.getLogger(StaleRecords.class);
    private static final Duration ASK = Duration.ofSeconds(10);

    private final Supplier<AgentConfig> config;
    private final Services services;
    private final PeerClient peers;
    private final Duration every;
    private final int rounds;

    /** {@code config}: the configuration in force, whose [[peers]] a reload changes. */
    public StaleRecords(Supplier<AgentConfig> config, Services services, PeerClient peers, Duration every, int rounds) {
        this.config = config;
        this.services = services;
        this.peers = peers;
        this.every = every;
        this.rounds = rounds;
    }

    /** Starts the rounds on a thread of their own: at an agent's start, peers may take a while to answer. */
    public void start() {
        List<String> dead = services.dead();
        if (dead.isEmpty() || config.get().peers().isEmpty()) {
            return;
        }
        Thread t = new Thread(() -> settle(new ArrayList<>(dead)), "stale-records");
        t.setDaemon(true);
        t.start();
    }

    private void settle(List<String> dead) {
        try {
            for (int round = 0; round < rounds && !dead.isEmpty(); round++) {
                if (round > 0) {
                    Thread.sleep(every.toMillis());
                }
                List<String> unanswered = new ArrayList<>();
                List<AgentConfig.Peer> peerList = config.get().peers(); // as last reloaded, one list a round
                dead.removeIf(name -> {
                    boolean allAnswered = true;
                    for (AgentConfig.Peer p : peerList) {
                        try {
                            if (Peers.call(peers, p.name(), MoveMessages.Type.WHERE, new MoveMessages.ServiceRef(name),
                                    MoveMessages.Where.class, ASK).runsHere()) {
                                services.dropStale(name, p.name());
                                return true;
                            }
                        } catch (Exception e) {
                            allAnswered = false;
                        }
                    }
                    if (!allAnswered) {
                        unanswered.add(name);
                    }
                    return allAnswered; // every peer said no: it is dead, not elsewhere
                });
                if (!unanswered.isEmpty() && round == rounds - 1) {
                    log.info("could not ask every peer whether {} run(s) there; the record(s) stay, dead ('svcmove stop' clears them)",
                            unanswered);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            log.warn("looking for stale service records failed: {}", e.getMessage(), e);
        }
    }
}
