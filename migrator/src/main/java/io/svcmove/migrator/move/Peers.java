package io.svcmove.migrator.move;

import io.svcmove.migrator.peer.Messages;
import io.svcmove.migrator.peer.PeerCallException;
import io.svcmove.migrator.peer.PeerClient;
import java.time.Duration;

/** A move's peer calls: typed, and whether a failure was the peer's answer. */
final class Peers {
    private Peers() {}

    /** A typed call of a move's message: {@code request} out, the reply read as {@code reply}. */
    static <T> T call(PeerClient peers, String node, String type, Object request, Class<T> reply, Duration timeout) throws Exception {
        return Messages.await(Messages.call(peers, node, type, request, reply, timeout));
    }

    /** Whether a failed call was answered (the peer's handler failed) rather than lost (no answer: it may have acted). */
    static boolean answered(Exception e) {
        return e instanceof PeerCallException;
    }
}
