package io.svcmove.clock;

import java.util.ArrayList;
import java.util.List;

/** Measures a peer's clock offsets by a few exchanges, one after the other, keeping the fastest. */
public final class ClockSync {

    /** The peer's side of an exchange: its clocks when the request arrived (t2) and when it answered (t3). */
    public record PeerStamps(ClockReading received, ClockReading sent) {}

    /** Asks the peer once for its stamps, over whatever channel links the nodes. */
    @FunctionalInterface
    public interface Peer {
        PeerStamps probe() throws Exception;
    }

    private final ClockSource local;

    public ClockSync(ClockSource local) {
        this.local = local;
    }

    /** {@code count} exchanges in a row; a failing one fails the measurement. */
    public Offsets measure(Peer peer, int count) throws Exception {
        if (count < 1) {
            throw new IllegalArgumentException("need at least one exchange, got " + count);
        }
        List<Exchange> done = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            ClockReading t1 = local.now();
            PeerStamps p = peer.probe();
            ClockReading t4 = local.now();
            done.add(new Exchange(t1, p.received(), p.sent(), t4));
        }
        return Offsets.best(done);
    }
}
