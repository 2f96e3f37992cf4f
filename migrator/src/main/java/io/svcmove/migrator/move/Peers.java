package io.svcmove.migrator.move;

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
}
