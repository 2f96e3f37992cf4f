package io.svcmove.migrator.peer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.NullNode;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.EncoderException;
import io.netty.util.AttributeKey;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server's dispatcher: hands each request to its handler on the executor and writes the reply
 * (or the error) back; data chunks go to the transfer receiver. Never blocks the event loop. A
 * connection may have {@link #MAX_IN_FLIGHT} requests unanswered; more are answered with an error
 * at once. A peer that does not read its replies is not read either (see
 * {@link TransferReceiver#adjustReading}), so replies cannot pile up in memory.
 */
@Sharable
final class RequestDispatcher extends ChannelInboundHandlerAdapter {
    private static final Logger LOG = LoggerFactory.getLogger(RequestDispatcher.class);
    /** The agent's own client waits for each answer within seconds; far more than it ever has open. */
    static final int MAX_IN_FLIGHT = 64;
    private static final AttributeKey<AtomicInteger> IN_FLIGHT = AttributeKey.valueOf("svcmove.requestsInFlight");
    private final Map<String, RequestHandler> handlers = new ConcurrentHashMap<>();
    private final Executor executor;
    private final TransferReceiver receiver;

    RequestDispatcher(Executor executor, TransferReceiver receiver) {
        this.executor = executor;
        this.receiver = receiver;
    }

    void register(String type, RequestHandler handler) {
        if (!Wire.TYPE_NAME.matcher(type).matches() || type.equals(Wire.TYPE_REPLY) || type.equals(Wire.TYPE_ERROR)
                || type.startsWith(Wire.TRANSFER_PREFIX)) {
            throw new IllegalArgumentException("invalid request type '" + type + "': lower-case name matching "
                    + Wire.TYPE_NAME + ", not reply, error or transfer.*");
        }
        if (handlers.putIfAbsent(type, handler) != null) {
            throw new IllegalStateException("a handler for '" + type + "' is already registered");
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof PeerEvents.Ready ready) {
            LOG.info("peer {} connected (protocol {})", PeerEvents.describe(ctx.channel()), ready.protocol());
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        Channel ch = ctx.channel();
        String peer = ch.attr(PeerEvents.PEER_NODE).get();
        if (msg instanceof PeerMessage.Chunk chunk) {
            receiver.chunk(ch, chunk);
        } else if (msg instanceof PeerMessage.Request r) {
            AtomicInteger inFlight = inFlight(ch);
            if (inFlight.incrementAndGet() > MAX_IN_FLIGHT) {
                inFlight.decrementAndGet();
                ch.writeAndFlush(new PeerMessage.ErrorReply(r.id(), "refused '" + r.type() + "': " + MAX_IN_FLIGHT
                        + " requests of this connection are still unanswered; wait for their answers"));
                return;
            }
            dispatch(ch, peer, r).whenComplete((result, error) -> {
                inFlight.decrementAndGet();
                if (error == null) {
                    // A reply that cannot be encoded (too large) still answers the caller, as an error.
                    ch.writeAndFlush(new PeerMessage.Reply(r.id(), result)).addListener(w -> {
                        if (!w.isSuccess() && ch.isActive()) {
                            ch.writeAndFlush(new PeerMessage.ErrorReply(r.id(), message(w.cause())));
                        }
                    });
                } else {
                    LOG.info("'{}' from {} failed: {}", r.type(), peer, message(error));
                    ch.writeAndFlush(new PeerMessage.ErrorReply(r.id(), message(error)));
                }
            });
        } else {
            ctx.fireChannelRead(msg);
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        TransferReceiver.adjustReading(ctx.channel());
        ctx.fireChannelWritabilityChanged();
    }

    /** Whether {@code ch} has requests unanswered or transfers open: it is in use even when no byte flows. */
    boolean busy(Channel ch) {
        return inFlight(ch).get() > 0 || receiver.hasStreams(ch);
    }

    private static AtomicInteger inFlight(Channel ch) {
        return PeerEvents.attribute(ch, IN_FLIGHT, AtomicInteger::new);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        receiver.channelClosed(ctx.channel());
        ctx.fireChannelInactive();
    }

    private CompletableFuture<JsonNode> dispatch(Channel ch, String peer, PeerMessage.Request r) {
        if (r.type().equals(Wire.TRANSFER_BEGIN)) {
            return onExecutor(() -> receiver.begin(ch, peer, r.body()));
        }
        if (r.type().equals(Wire.TRANSFER_END)) {
            return receiver.end(ch, peer, r.body());
        }
        RequestHandler h = handlers.get(r.type());
        if (h == null) {
            return CompletableFuture.failedFuture(new PeerException("no handler for '" + r.type()
                    + "' on this node: are both nodes running the same svcmove version?"));
        }
        return onExecutor(() -> {
            Object result = h.handle(peer, r.body());
            JsonNode json = Wire.JSON.valueToTree(result);
            return json == null ? NullNode.getInstance() : json;
        });
    }

    private interface Work {
        JsonNode run() throws Exception;
    }

    private CompletableFuture<JsonNode> onExecutor(Work work) {
        CompletableFuture<JsonNode> f = new CompletableFuture<>();
        try {
            executor.execute(() -> {
                try {
                    f.complete(work.run());
                } catch (Exception | LinkageError e) {
                    f.completeExceptionally(e);
                }
            });
        } catch (RejectedExecutionException e) {
            f.completeExceptionally(new PeerException("this node is overloaded (every thread for peer requests is busy and"
                    + " its queue is full) or shutting down: try again shortly"));
        }
        return f;
    }

    static String message(Throwable error) {
        Throwable e = error;
        while ((e instanceof CompletionException || e instanceof EncoderException) && e.getCause() != null) {
            e = e.getCause();
        }
        return e.getMessage() == null ? e.getClass().getName() : e.getMessage();
    }
}
