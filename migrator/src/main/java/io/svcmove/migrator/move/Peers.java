package io.svcmove.migrator.move;

import com.fasterxml.jackson.databind.JsonNode;
import io.svcmove.migrator.peer.PeerCallException;
import io.svcmove.migrator.peer.PeerClient;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/** Waiting on a peer's answer, with the peer's own failure (not its wrapper) as the exception. */
final class Peers {
    private Peers() {}

    static <T> T await(CompletableFuture<T> answer) throws Exception {
        try {
            return answer.get();
        } catch (ExecutionException e) {
            throw e.getCause() instanceof Exception cause ? cause : e;
        }
    }

    /** A typed call of a move's message: {@code request} out, the reply read as {@code reply}. */
    static <T> T call(PeerClient peers, String node, String type, Object request, Class<T> reply, Duration timeout) throws Exception {
        JsonNode answer = await(peers.call(node, type, MoveMessages.tree(request), timeout));
        return MoveMessages.read(answer, reply);
    }

    /** Whether a failed call was answered (the peer's handler failed) rather than lost (no answer: it may have acted). */
    static boolean answered(Exception e) {
        return e instanceof PeerCallException;
    }
}
