package io.svcmove.migrator.peer;

import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.AttributeKey;
import io.netty.util.ReferenceCountUtil;

/** The client's dispatcher: routes replies to the calls waiting for them, and tracks readiness. */
@Sharable
final class ReplyDispatcher extends ChannelInboundHandlerAdapter {
    static final AttributeKey<PeerConnection> CONNECTION = AttributeKey.valueOf("svcmove.connection");
    static final ReplyDispatcher INSTANCE = new ReplyDispatcher();

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        PeerConnection conn = ctx.channel().attr(CONNECTION).get();
        if (msg instanceof PeerMessage.Reply r) {
            conn.replied(r);
        } else if (msg instanceof PeerMessage.ErrorReply r) {
            conn.failed(r);
        } else {
            ReferenceCountUtil.release(msg);
            throw new PeerProtocolException("a server sent " + msg.getClass().getSimpleName() + " to a client");
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof PeerEvents.Ready) {
            ctx.channel().attr(CONNECTION).get().becameReady();
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        ctx.channel().attr(CONNECTION).get().writabilityChanged();
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        ctx.channel().attr(CONNECTION).get().closed(ctx.channel().attr(PeerEvents.CLOSE_CAUSE).get());
        ctx.fireChannelInactive();
    }
}
