package io.svcmove.migrator.peer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.NullNode;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.EncoderException;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server's dispatcher: hands each request to its handler on the executor and writes the reply
 * (or the error) back; data chunks go to the transfer receiver. Never blocks the event loop.
 */
@Sharable
final class RequestDispatcher extends ChannelInboundHandlerAdapter {
    private static final Logger LOG = LoggerFactory.getLogger(RequestDispatcher.class);
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
            dispatch(ch, peer, r).whenComplete((result, error) -> {
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
            f.completeExceptionally(new PeerException("this node is shutting down or overloaded"));
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
