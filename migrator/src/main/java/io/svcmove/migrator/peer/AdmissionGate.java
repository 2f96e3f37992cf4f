package io.svcmove.migrator.peer;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * First in the server's pipeline, in front of TLS. A connection over the {@link HandshakeLimits}
 * is closed at once, with no TLS engine ever made for it; an admitted one gets the rest of the
 * pipeline and holds its slot until the hello exchange is done (or it closes). After that, the
 * newest connection of each peer node is its live channel and may idle for as long as it likes
 * (the {@link PeerClient} keeps one open per peer, with no keepalive traffic); any other
 * connection of that node is closed after {@link #IDLE_SECONDS} with nothing read or written and
 * no request or transfer in progress: the leftovers of a peer that rebooted, or a stolen
 * certificate's connections.
 */
final class AdmissionGate extends ChannelInboundHandlerAdapter {
    private static final Logger LOG = LoggerFactory.getLogger(AdmissionGate.class);
    static final int IDLE_SECONDS = 300;

    private final HandshakeLimits limits;
    private final Map<String, Channel> live;
    private final Predicate<Channel> busy;
    private final Consumer<Channel> pipeline;
    private final int idleSeconds;
    private HandshakeLimits.Slot holding;

    /**
     * @param live each node's live channel, shared by the server's connections
     * @param busy whether a connection has requests or transfers in progress
     * @param pipeline adds the rest of the pipeline (TLS first, and a handler named "version" that fires {@link PeerEvents.Ready})
     */
    AdmissionGate(HandshakeLimits limits, Map<String, Channel> live, Predicate<Channel> busy, Consumer<Channel> pipeline,
            int idleSeconds) {
        this.limits = limits;
        this.live = live;
        this.busy = busy;
        this.pipeline = pipeline;
        this.idleSeconds = idleSeconds;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        Channel ch = ctx.channel();
        InetAddress from = ((InetSocketAddress) ch.remoteAddress()).getAddress();
        holding = limits.admit(from);
        if (holding == null) {
            ch.config().setAutoRead(false);
            // A reset, not a FIN: no TIME_WAIT left here for each refused connection of a flood.
            ch.config().setOption(ChannelOption.SO_LINGER, 0);
            ch.close();
            return;
        }
        pipeline.accept(ch);
        ch.pipeline().addAfter("version", "admitted", new Admitted());
        ctx.fireChannelActive();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        releaseSlot();
        ctx.fireChannelInactive();
    }

    private void releaseSlot() {
        if (holding != null) {
            limits.release(holding);
            holding = null;
        }
    }

    /** After the version check: frees the handshake slot, then watches the authenticated connection's idleness. */
    private final class Admitted extends ChannelInboundHandlerAdapter {
        private String node;

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof PeerEvents.Ready ready) {
                releaseSlot();
                node = ready.node();
                live.put(node, ctx.channel());
                ctx.pipeline().addBefore(ctx.name(), "idle", new IdleStateHandler(0, 0, idleSeconds, TimeUnit.SECONDS));
            } else if (evt instanceof IdleStateEvent) {
                Channel ch = ctx.channel();
                if (live.get(node) != ch && !busy.test(ch)) {
                    LOG.info("closing an idle connection of {}: {} s without traffic, and a newer one of that node is open",
                            PeerEvents.describe(ch), idleSeconds);
                    PeerEvents.recordCause(ch, new PeerException("idle for " + idleSeconds + " s beside a newer connection"));
                    ch.close();
                }
                return;
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (node != null) {
                live.remove(node, ctx.channel());
            }
            ctx.fireChannelInactive();
        }
    }
}
