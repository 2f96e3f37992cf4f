package io.svcmove.migrator.move;

import io.svcmove.migrator.service.MoveStage;
import java.time.Duration;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A held cell must not outlive its move: once the move has been quiet a while, its source is asked
 * whether the move is still on; if it says no (it gave up and could not tell this node), the move
 * is dropped. The watch ends once the move leaves PREPARED or is no longer this node's.
 */
final class HeldCellWatch {
    private static final Logger log = LoggerFactory.getLogger(HeldCellWatch.class);

    /** Asks the source of a move whether it still runs it. */
    @FunctionalInterface
    interface Source {
        boolean active(ArrivingMove move) throws Exception;
    }

    /** Drops a move the source says is over. */
    @FunctionalInterface
    interface Drop {
        void drop(ArrivingMove move, String why) throws Exception;
    }

    private HeldCellWatch() {}

    /** Watches {@code a} on a daemon thread while {@code current} says it is still this node's. */
    static void start(ArrivingMove a, Duration quiet, BooleanSupplier current, Source source, Drop drop) {
        Thread t = new Thread(() -> {
            try {
                Thread.sleep(quiet.toMillis());
                while (current.getAsBoolean() && a.stage() == MoveStage.PREPARED) {
                    try {
                        if (!source.active(a)) {
                            synchronized (a) {
                                if (a.stage() == MoveStage.PREPARED) {
                                    drop.drop(a, a.from + " says the move is over");
                                }
                            }
                            return;
                        }
                    } catch (InterruptedException e) {
                        throw e;
                    } catch (Exception e) {
                        log.debug("move {}: asking {} whether the move is on: {}", a.id, a.from, e.getMessage());
                    }
                    Thread.sleep(quiet.toMillis() / 2);
                }
            } catch (Exception e) {
                log.warn("move {}: watching the held cell of {}: {}", a.id, a.service.name(), e.toString());
            }
        }, "held-" + a.id);
        t.setDaemon(true);
        t.start();
    }
}
