package io.svcmove.migrator.peer;

import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.util.ReferenceCountUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Last in the pipeline: any error that reaches it (garbage, oversize frame, protocol violation,
 * I/O error) is logged with the peer's name and closes that connection, never more.
 */
@Sharable
final class ConnectionGuard extends ChannelInboundHandlerAdapter {
    static final ConnectionGuard INSTANCE = new ConnectionGuard();
    private static final Logger LOG = LoggerFactory.getLogger(ConnectionGuard.class);

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        Throwable c = cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
        String reason = reason(c);
        boolean first = ctx.channel().attr(PeerEvents.CLOSE_CAUSE).setIfAbsent(new PeerException(reason, c)) == null;
        if (first && ctx.channel().isOpen()) {
            LOG.warn("closing connection with {}: {}", PeerEvents.describe(ctx.channel()), reason);
        }
        ctx.close();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ReferenceCountUtil.release(msg);
        ctx.fireExceptionCaught(new PeerProtocolException("unexpected " + msg.getClass().getSimpleName()));
    }

    static String reason(Throwable c) {
        if (c instanceof TooLongFrameException) {
            return "frame larger than the " + (Wire.MAX_FRAME >> 20) + " MiB limit (" + c.getMessage() + ")";
        }
        return c.getMessage() == null ? c.getClass().getSimpleName() : c.getMessage();
    }
}
