package io.svcmove.migrator.peer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * Typed peer messages: each request and reply is a record whose fields are named once, in JSON as
 * snake_case. An area keeps its records in its own messages class (move's, checkpoints', a node's);
 * this reads and writes them, registers handlers that take and give them, and calls peers with them.
 * The records must be public (nested in a public class) when a handler of another package reads them.
 */
public final class Messages {
    private Messages() {}

    public static final ObjectMapper JSON = new ObjectMapper().setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    /** A handler of one request type, given its request already read. */
    @FunctionalInterface
    public interface Handler<Q> {
        Object handle(String peerNode, Q request) throws Exception;
    }

    /** BODY as a TYPE message; a missing or malformed one is refused with what is wrong, never a null message. */
    public static <T> T read(JsonNode body, Class<T> type) {
        // A missing or null body reads as a null message (found by fuzzing): refused here, not an NPE in a handler.
        if (body == null || body.isNull() || body.isMissingNode()) {
            throw new IllegalArgumentException("malformed " + type.getSimpleName() + " message: it has no body");
        }
        try {
            return JSON.treeToValue(body, type);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("malformed " + type.getSimpleName() + " message: " + e.getOriginalMessage(), e);
        }
    }

    public static JsonNode tree(Object message) {
        return JSON.valueToTree(message);
    }

    /** A handler whose reply record goes out as its message says (snake_case), not as the server's default mapper would. */
    public static RequestHandler typed(RequestHandler h) {
        return (peer, body) -> tree(h.handle(peer, body));
    }

    /** A handler of REQUEST messages, its reply written as a message too. */
    public static <Q> RequestHandler typed(Class<Q> request, Handler<Q> h) {
        return (peer, body) -> tree(h.handle(peer, read(body, request)));
    }

    /** A typed call: {@code request} out, the reply read as {@code reply}. */
    public static <T> CompletableFuture<T> call(PeerClient peers, String node, String type, Object request, Class<T> reply,
            Duration timeout) {
        return peers.call(node, type, tree(request), timeout).thenApply(answer -> read(answer, reply));
    }

    /** Waits for a peer's answer, with the peer's own failure (not its wrapper) as the exception. */
    public static <T> T await(CompletableFuture<T> answer) throws Exception {
        try {
            return answer.get();
        } catch (ExecutionException e) {
            throw e.getCause() instanceof Exception cause ? cause : e;
        }
    }
}
