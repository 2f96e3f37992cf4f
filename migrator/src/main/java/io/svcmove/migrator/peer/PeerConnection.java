package io.svcmove.migrator.peer;

import com.fasterxml.jackson.databind.JsonNode;
import io.netty.channel.Channel;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.ScheduledFuture;
import io.svcmove.migrator.pki.CertificateExpiry;
import io.svcmove.migrator.pki.ClusterPki;
import java.net.InetSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLException;

/** The client's state for one connection to one peer: readiness, calls waiting for replies. */
final class PeerConnection {
    private final String node;
    private final InetSocketAddress address;
    private final Executor executor;
    /** This node's certificate as the connection presents it: a refusal may be its expiry. */
    private final X509Certificate own;
    private final AtomicLong ids = new AtomicLong();
    private final Map<Long, Pending> pending = new ConcurrentHashMap<>();
    private final Object writability = new Object();
    /** Completes once the hello exchange succeeded; fails with the reason the connection did not come up. */
    final CompletableFuture<PeerConnection> ready = new CompletableFuture<>();
    volatile Channel channel;

    /**
     * Whether a request can still leave on it: its socket open and its TLS closing neither way. A
     * peer that closes (an expired certificate, its restart) sends close_notify before the socket
     * ends; a request written in between fails with "SSLEngine closed" without having left.
     */
    boolean usable() {
        Channel ch = channel;
        if (ch == null || !ch.isActive()) {
            return false;
        }
        SslHandler tls = ch.pipeline().get(SslHandler.class);
        return tls == null || !(tls.engine().isInboundDone() || tls.engine().isOutboundDone());
    }

    private record Pending(String type, CompletableFuture<JsonNode> future) {}

    PeerConnection(String node, InetSocketAddress address, Executor executor, X509Certificate own) {
        this.node = node;
        this.address = address;
        this.executor = executor;
        this.own = own;
    }

    /** "node2 (198.18.0.12:7301)", how errors name the peer. */
    String who() {
        return node + " (" + PeerEvents.address(address) + ")";
    }

    /** @param shown the timeout the caller asked for, which the error names (less may be left of it) */
    CompletableFuture<JsonNode> call(String type, JsonNode body, Duration timeout, Duration shown) {
        long id = ids.incrementAndGet();
        CompletableFuture<JsonNode> f = new CompletableFuture<>();
        pending.put(id, new Pending(type, f));
        Channel ch = channel;
        ScheduledFuture<?> timer = ch.eventLoop().schedule(() -> fail(f, new PeerException(who() + " did not answer '"
                + type + "' within " + shown.toMillis() + " ms")), timeout.toNanos(), TimeUnit.NANOSECONDS);
        f.whenComplete((r, e) -> {
            pending.remove(id);
            timer.cancel(false);
        });
        ch.writeAndFlush(new PeerMessage.Request(id, type, body)).addListener(w -> {
            if (!w.isSuccess()) {
                String why = "cannot send '" + type + "' to " + who() + ": " + w.cause().getMessage();
                // Written to a channel closed already: nothing went out.
                fail(f, w.cause() instanceof ClosedChannelException ? new PeerNotReachedException(why, w.cause())
                        : new PeerException(why, w.cause()));
            }
        });
        return f;
    }

    void replied(PeerMessage.Reply r) {
        Pending p = pending.get(r.id());
        if (p != null) {
            executor.execute(() -> p.future().complete(r.body()));
        }
    }

    void failed(PeerMessage.ErrorReply r) {
        Pending p = pending.get(r.id());
        if (p != null) {
            fail(p.future(), new PeerCallException(node, p.type(), r.message()));
        }
    }

    void becameReady() {
        executor.execute(() -> ready.complete(this));
    }

    /** The channel closed: whoever still waits learns why. */
    void closed(Throwable cause) {
        PeerException e = closeReason(cause);
        fail(ready, e);
        pending.values().forEach(p -> fail(p.future(), e));
        synchronized (writability) {
            writability.notifyAll();
        }
    }

    void writabilityChanged() {
        synchronized (writability) {
            writability.notifyAll();
        }
    }

    /**
     * Blocks the (sending, non-event-loop) thread until the channel accepts more data, so a
     * transfer never queues more than the write buffer's high-water mark in memory.
     */
    void awaitWritable(Duration stall) throws PeerException, InterruptedException {
        Channel ch = channel;
        long deadline = System.nanoTime() + stall.toNanos();
        synchronized (writability) {
            while (!ch.isWritable()) {
                if (!ch.isActive()) {
                    throw closeReason(ch.attr(PeerEvents.CLOSE_CAUSE).get());
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new PeerException(who() + " took no data for " + stall.toSeconds() + " s");
                }
                // Bounded wait: a missed notification costs at most 100 ms.
                writability.wait(Math.min(TimeUnit.NANOSECONDS.toMillis(left) + 1, 100));
            }
        }
    }

    PeerException closeReason(Throwable cause) {
        if (cause == null) {
            return new PeerException("connection to " + who() + " closed");
        }
        String msg = cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage();
        if (ready.isDone()) {
            return new PeerException("connection to " + who() + " lost: " + msg, cause);
        }
        if (has(cause, ClusterTrust.Refused.class)) {
            return new PeerException(who() + " is not trusted: " + msg, cause);
        }
        if (has(cause, SSLException.class) && PeerTls.isRefusalAlert(msg) && CertificateExpiry.expired(own, Instant.now())) {
            String self = ClusterPki.commonName(own);
            return new PeerException(who() + " refused this node's certificate, which expired on " + own.getNotAfter().toInstant()
                    + ": " + CertificateExpiry.renewal(self), cause);
        }
        if (has(cause, SSLException.class) && PeerTls.isRefusalAlert(msg)) {
            return new PeerException(who() + " refused this node's certificate: is this node in its peer list,"
                    + " and was its certificate issued by the same cluster CA?", cause);
        }
        return new PeerException("cannot talk to " + who() + ": " + msg, cause);
    }

    private static boolean has(Throwable t, Class<? extends Throwable> type) {
        for (; t != null; t = t.getCause()) {
            if (type.isInstance(t)) {
                return true;
            }
        }
        return false;
    }

    private void fail(CompletableFuture<?> f, Throwable e) {
        if (!f.isDone()) {
            executor.execute(() -> f.completeExceptionally(e));
        }
    }
}
