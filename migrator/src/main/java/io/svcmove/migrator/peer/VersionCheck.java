package io.svcmove.migrator.peer;

import com.fasterxml.jackson.databind.JsonNode;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufInputStream;
import io.netty.buffer.ByteBufOutputStream;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.concurrent.TimeUnit;

/**
 * The hello exchange: once TLS has authenticated the peer, each side sends
 * {@code {"protocol": N, "node": NAME}} as its first frame and checks the other's: same protocol,
 * and the name its certificate carries. Then this handler leaves the pipeline and fires
 * {@link PeerEvents.Ready}; on any mismatch the connection closes with the reason.
 */
final class VersionCheck extends ChannelInboundHandlerAdapter {
    static final long HELLO_TIMEOUT_MILLIS = 10_000;
    private final String localNode;
    private final int protocol;
    private ScheduledFuture<?> timeout;

    VersionCheck(String localNode, int protocol) {
        this.localNode = localNode;
        this.protocol = protocol;
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof PeerEvents.Authenticated) {
            ctx.writeAndFlush(hello(ctx));
            timeout = ctx.executor().schedule(() -> {
                ctx.fireExceptionCaught(new PeerProtocolException("no hello within " + HELLO_TIMEOUT_MILLIS + " ms"));
            }, HELLO_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        ByteBuf frame = (ByteBuf) msg;
        try {
            String expected = ctx.channel().attr(PeerEvents.PEER_NODE).get();
            if (expected == null) {
                throw new PeerProtocolException("data before the peer was authenticated");
            }
            if (!frame.isReadable() || frame.readByte() != Wire.KIND_HELLO) {
                throw new PeerProtocolException("first frame is not a hello: not an svcmove agent, or a version without one");
            }
            JsonNode hello;
            try (InputStream in = new ByteBufInputStream(frame)) {
                hello = Wire.JSON.readTree(in);
            } catch (IOException e) {
                throw new PeerProtocolException("malformed hello: " + e.getMessage());
            }
            if (hello == null || !hello.path("protocol").isInt() || !hello.path("node").isTextual()) {
                throw new PeerProtocolException("malformed hello: needs \"protocol\" and \"node\"");
            }
            int theirs = hello.get("protocol").asInt();
            String node = hello.get("node").asText();
            if (theirs != protocol) {
                throw new PeerProtocolException(expected + " speaks peer protocol " + theirs + " but " + localNode
                        + " speaks " + protocol + ": run the same svcmove version on both nodes");
            }
            if (!node.equals(expected)) {
                throw new PeerProtocolException("hello says node '" + node + "' but the certificate says '" + expected + "'");
            }
            if (timeout != null) {
                timeout.cancel(false);
            }
            ctx.pipeline().remove(this);
            ctx.fireUserEventTriggered(new PeerEvents.Ready(node, theirs));
        } finally {
            frame.release();
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        if (timeout != null) {
            timeout.cancel(false);
        }
        ctx.fireChannelInactive();
    }

    private ByteBuf hello(ChannelHandlerContext ctx) throws IOException {
        ByteBuf buf = ctx.alloc().buffer();
        buf.writeByte(Wire.KIND_HELLO);
        try (OutputStream os = new ByteBufOutputStream(buf)) {
            Wire.JSON.writeValue(os, Wire.JSON.createObjectNode().put("protocol", protocol).put("node", localNode));
        }
        return buf;
    }
}
