package io.svcmove.migrator.move;

import io.svcmove.migrator.service.ServiceRecord;
import io.svcmove.migrator.service.ServiceRegistry;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Moves from this node that did not end: the agent died during them (found at start), or the
 * destination stopped answering where only it could tell whether it had the service (exit 6).
 * Each is finished by the move's own step table from the stage its record says
 * ({@link OutgoingMove#recover}), on a thread of its own, asked again every few seconds until
 * the destination answers: the service then runs on exactly one node.
 */
public final class UnfinishedMoves {
    private static final Logger log = LoggerFactory.getLogger(UnfinishedMoves.class);
    private static final Duration RETRY = Duration.ofSeconds(5);

    private final ServiceRegistry registry;
    private final Supplier<OutgoingMove> mover;
    private final Object lock;
    private final Set<String> resolving = ConcurrentHashMap.newKeySet();

    /** @param lock {@link Moves#lock()}: no move, checkpoint or recovery runs while one is finished */
    public UnfinishedMoves(ServiceRegistry registry, Supplier<OutgoingMove> mover, Object lock) {
        this.registry = registry;
        this.mover = mover;
        this.lock = lock;
    }

    /** At start: every move a record says is under way. */
    public void start() {
        for (ServiceRecord r : registry.all()) {
            if (r.move() != null) {
                log.warn("{} was being moved to {} (move {}, stage {}) when this agent stopped: finishing it", r.name(),
                        r.move().to(), r.move().id(), r.move().stage().label());
                resolve(r.name());
            }
        }
    }

    /** Finishes the move of {@code name} in the background, until its destination answers. */
    public void resolve(String name) {
        if (!resolving.add(name)) {
            return;
        }
        Thread t = new Thread(() -> {
            try {
                for (int attempt = 1; ; attempt++) {
                    synchronized (lock) {
                        ServiceRecord r = registry.find(name).orElse(null);
                        if (r == null || r.move() == null) {
                            return;
                        }
                        try {
                            mover.get().recover(r);
                            log.info("{}: the move {} is finished: {} runs it now; the frozen copy here is gone", name, r.move().id(),
                                    r.move().to());
                            return;
                        } catch (MoveFailedException e) {
                            log.warn("{}: the move {} to {} was rolled back: {} runs here ({}){}", name, r.move().id(), r.move().to(),
                                    name, e.getMessage(), e.rollbackIncomplete() ? "; the rollback met errors: "
                                            + e.getSuppressed()[0].getMessage() + " (see 'svcmove status')" : "");
                            return;
                        } catch (MoveUnresolvedException e) {
                            log.warn("{}: cannot finish the move {} yet ({}: {}); asking {} again in {} s (attempt {})", name,
                                    r.move().id(), e.step().id(), e.getMessage(), r.move().to(), RETRY.toSeconds(), attempt);
                        }
                    }
                    Thread.sleep(RETRY.toMillis());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (RuntimeException e) {
                log.error("{}: finishing its move failed: {}; see 'svcmove status' on both nodes", name, e.toString(), e);
            } finally {
                resolving.remove(name);
            }
        }, "unfinished-move-" + name);
        t.setDaemon(true);
        t.start();
    }
}
