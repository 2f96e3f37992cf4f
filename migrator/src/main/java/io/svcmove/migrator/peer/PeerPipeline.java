package io.svcmove.migrator.peer;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.handler.codec.LengthFieldPrepender;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;

/**
 * The one pipeline both ends use, in data-flow order: TLS, authentication, framing, version
 * check, typed messages, the side's dispatcher, and the guard that turns any error into a close.
 */
final class PeerPipeline {
    static final long HANDSHAKE_TIMEOUT_MILLIS = 10_000;

    private PeerPipeline() {}

    static void init(SocketChannel ch, boolean server, SslContext tls, String localNode, int protocol, ChannelHandler dispatcher) {
        SslHandler ssl = tls.newHandler(ch.alloc());
        ssl.setHandshakeTimeoutMillis(HANDSHAKE_TIMEOUT_MILLIS);
        ChannelPipeline p = ch.pipeline();
        p.addLast("tls", ssl);
        p.addLast("auth", new PeerAuthHandler(server));
        addFraming(p);
        p.addLast("version", new VersionCheck(localNode, protocol));
        p.addLast("codec", new MessageCodec());
        p.addLast("dispatch", dispatcher);
        p.addLast("guard", ConnectionGuard.INSTANCE);
    }

    static void addFraming(ChannelPipeline p) {
        p.addLast("deframe", new LengthFieldBasedFrameDecoder(Wire.MAX_FRAME, 0, 4, 0, 4));
        p.addLast("frame", new LengthFieldPrepender(4));
    }
}
