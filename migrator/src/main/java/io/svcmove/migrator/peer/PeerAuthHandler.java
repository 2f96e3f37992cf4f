package io.svcmove.migrator.peer;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.concurrent.ScheduledFuture;
import io.svcmove.migrator.pki.CertificateExpiry;
import io.svcmove.migrator.pki.ClusterPki;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLPeerUnverifiedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sits right after the TLS handler: on a successful handshake it records the node the (already
 * verified) peer certificate names and fires {@link PeerEvents.Authenticated}; on a failed one it
 * logs the refusal with its reason and closes. Nothing reaches the later handlers before that.
 */
final class PeerAuthHandler extends ChannelInboundHandlerAdapter {
    private static final Logger LOG = LoggerFactory.getLogger(PeerAuthHandler.class);
    private final boolean server;
    private boolean refused;

    /** @param server whether this end accepted the connection (only the wording of the log differs) */
    PeerAuthHandler(boolean server) {
        this.server = server;
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (!(evt instanceof SslHandshakeCompletionEvent done)) {
            ctx.fireUserEventTriggered(evt);
            return;
        }
        if (!done.isSuccess()) {
            refuse(ctx, done.cause());
            return;
        }
        X509Certificate cert;
        try {
            Certificate[] chain = ctx.pipeline().get(SslHandler.class).engine().getSession().getPeerCertificates();
            cert = (X509Certificate) chain[0];
        } catch (SSLPeerUnverifiedException e) {
            refuse(ctx, e);
            return;
        }
        String node = ClusterPki.commonName(cert);
        ctx.channel().attr(PeerEvents.PEER_NODE).set(node);
        ctx.channel().attr(PeerEvents.PEER_CERT).set(cert);
        closeAtExpiry(ctx.channel(), node, cert);
        ctx.pipeline().remove(this);
        ctx.fireUserEventTriggered(evt);
        ctx.fireUserEventTriggered(new PeerEvents.Authenticated(node));
    }

    /**
     * The handshake checked the certificate once; a connection may outlive it. It is closed when the
     * certificate expires, and the warning of an expiry within 30 days is given as it opens.
     */
    private static void closeAtExpiry(Channel ch, String node, X509Certificate cert) {
        Instant now = Instant.now();
        CertificateExpiry.warning(node, cert, now).ifPresent(LOG::warn);
        long delay = Math.max(0, cert.getNotAfter().getTime() - now.toEpochMilli());
        ScheduledFuture<?> expiry = ch.eventLoop().schedule(() -> {
            String why = "the certificate of " + node + " expired on " + cert.getNotAfter().toInstant() + ": "
                    + CertificateExpiry.renewal(node);
            PeerEvents.recordCause(ch, new PeerException(why));
            LOG.warn("closing connection with {}: {}", PeerEvents.describe(ch), why);
            ch.close();
        }, delay, TimeUnit.MILLISECONDS);
        // Else the task would hold the channel until the certificate's end, years after it closed.
        ch.closeFuture().addListener(f -> expiry.cancel(false));
    }

    /** Before authentication every error is a refusal, logged once. */
    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        refuse(ctx, cause);
    }

    private void refuse(ChannelHandlerContext ctx, Throwable cause) {
        if (refused) {
            return;
        }
        refused = true;
        String reason = PeerTls.reason(cause);
        PeerEvents.recordCause(ctx.channel(), new PeerException(reason, cause));
        String peer = PeerEvents.address(ctx.channel().remoteAddress());
        if (server) {
            LOG.warn("refused {}: {}", peer, reason);
        } else {
            LOG.warn("no secure connection to {}: {}", peer, reason);
        }
        ctx.close();
    }
}
