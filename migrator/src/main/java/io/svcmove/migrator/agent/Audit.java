package io.svcmove.migrator.agent;

import com.fasterxml.jackson.databind.JsonNode;
import io.svcmove.migrator.control.ControlException;
import io.svcmove.migrator.control.Outcome;
import io.svcmove.migrator.failover.CheckpointMessages;
import io.svcmove.migrator.peer.Messages;
import io.svcmove.migrator.peer.RequestHandler;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The audit trail: every request that changes what runs where is logged, once, by the agent that
 * carried it out, as one {@link AuditLine}: what was asked, who asked, how it ended and how long it
 * took. It is called at the CLI socket's dispatch and for each move of a drain ({@link #request}),
 * and wraps the peer requests an agent carries out for another ({@link #peer}).
 */
final class Audit {
    /** Its own logger, so a Logback configuration can send the trail elsewhere too. */
    private static final Logger log = LoggerFactory.getLogger("io.svcmove.audit");
    /** A failure's message is kept short: the agent's log holds the whole story just above. */
    static final int MAX_MESSAGE = 300;

    /** CLI requests that change something (status, nodes, moves and check only read; dns.sync rewrites DNS records). */
    private static final Set<String> CLI_OPS = Set.of("run", "stop", "move", "drain", "undrain", "recover", "cancel", "dns.sync");

    /**
     * A peer request carried out for another agent: the operation it is part of, the step of it when
     * it is one of several, and what a failure of it means for the operation.
     */
    private record PeerOp(Function<JsonNode, String> op, String step, Outcome onError) {
        PeerOp(String op, String step, Outcome onError) {
            this(body -> op, step, onError);
        }
    }

    private static final Map<String, PeerOp> PEER_OPS = Map.of(
            "move.run", new PeerOp("move", null, Outcome.FAILED),
            CheckpointMessages.Type.RECOVER, new PeerOp("recover", null, Outcome.FAILED),
            NodeMessages.Type.DRAIN, new PeerOp(body -> Messages.read(body, NodeMessages.Drain.class).draining() ? "drain" : "undrain",
                    null, Outcome.FAILED),
            // The destination's side of a move: a failed prepare means the source gives up before
            // freezing (refused), a failed restore that it resumes its copy (rolled back).
            "move.prepare", new PeerOp("move-in", "prepare", Outcome.REFUSED),
            "move.restore", new PeerOp("move-in", "restore", Outcome.ROLLED_BACK),
            "move.commit", new PeerOp("move-in", "commit", Outcome.FAILED),
            "move.abort", new PeerOp("move-in", "abort", Outcome.FAILED));

    private Audit() {}

    @FunctionalInterface
    interface Work<T> {
        T run() throws Exception;
    }

    /** Runs a request; an audited one is logged with its outcome, the exception (if any) passing on unchanged. */
    static JsonNode request(String op, JsonNode request, Caller caller, Work<JsonNode> work) throws Exception {
        return CLI_OPS.contains(op) ? logged(op, null, request, caller, Outcome.INTERNAL, work) : work.run();
    }

    /** HANDLER for peer requests of TYPE, logging those that are part of an audited operation. */
    static RequestHandler peer(String type, RequestHandler handler) {
        PeerOp p = PEER_OPS.get(type);
        if (p == null) {
            return handler;
        }
        return (peer, body) -> logged(p.op().apply(body), p.step(), body, new Caller.Peer(peer), p.onError(),
                () -> handler.handle(peer, body));
    }

    private static <T> T logged(String op, String step, JsonNode request, Caller caller, Outcome onError, Work<T> work)
            throws Exception {
        long start = System.nanoTime();
        T result;
        try {
            result = work.run();
        } catch (Exception | Error e) {
            write(fields(op, step, request, caller, e instanceof ControlException c ? c.outcome() : onError, since(start), null, e.getMessage()));
            throw e;
        }
        JsonNode json = result instanceof JsonNode j ? j : null;
        write(fields(op, step, request, caller, outcomeOf(result), since(start), json, json == null ? null : json.path("message").textValue()));
        return result;
    }

    private static long since(long nanoStart) {
        return (System.nanoTime() - nanoStart) / 1_000_000;
    }

    private static void write(Map<String, Object> fields) {
        log.info(AuditLine.format(fields));
    }

    /**
     * How a request that returned ended: a forwarded request answers {@code ok: false} with the
     * outcome instead of throwing; a drain counts the moves that failed.
     */
    static Outcome outcomeOf(Object result) {
        if (!(result instanceof JsonNode r)) {
            return Outcome.OK;
        }
        if (r.has("ok") && !r.path("ok").asBoolean()) {
            return Arrays.stream(Outcome.values()).filter(o -> o.name().equals(r.path("outcome").asText()))
                    .findFirst().orElse(Outcome.FAILED);
        }
        return r.path("failed").asInt() > 0 ? Outcome.FAILED : Outcome.OK;
    }

    /** The outcome as the CLI and the docs name it: ok, refused, failed, rolled-back ... */
    static String word(Outcome o) {
        return o.name().toLowerCase().replace('_', '-');
    }

    static Map<String, Object> fields(String op, String step, JsonNode request, Caller caller, Outcome outcome, long ms,
            JsonNode result, String message) {
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("op", op);
        if (step != null) {
            f.put("step", step);
        }
        // The service: a CLI request and most peer requests name it; a move's prepare carries its record.
        String service = request.path("name").textValue();
        putIf(f, "service", service != null ? service : request.path("service").path("name").textValue());
        putIf(f, "node", request.path("node").textValue());
        putIf(f, "to", request.path("to").textValue());
        putIf(f, "move", request.path("move_id").textValue());
        f.putAll(caller.fields());
        f.put("outcome", word(outcome));
        f.put("exit", outcome.exitCode);
        f.put("duration_ms", ms);
        if (result != null && result.has("moved")) {
            f.put("moved", result.path("moved").asInt());
            f.put("failed", result.path("failed").asInt());
        }
        if (outcome != Outcome.OK && message != null) {
            putIf(f, "message", message.length() <= MAX_MESSAGE ? message : message.substring(0, MAX_MESSAGE) + "...");
        }
        return f;
    }

    private static void putIf(Map<String, Object> f, String key, String value) {
        if (value != null && !value.isEmpty()) {
            f.put(key, value);
        }
    }
}
