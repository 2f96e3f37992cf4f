package io.svcmove.migrator.peer;

import io.netty.channel.Channel;
import io.netty.util.AttributeKey;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.security.cert.X509Certificate;
import java.util.function.Supplier;

/** Pipeline events and channel attributes that the peer handlers share. */
final class PeerEvents {
    /** The node named by the peer's verified certificate; set once TLS succeeds. */
    static final AttributeKey<String> PEER_NODE = AttributeKey.valueOf("svcmove.peerNode");
    /** The peer's verified certificate; set with {@link #PEER_NODE}, checked again on reload. */
    static final AttributeKey<X509Certificate> PEER_CERT = AttributeKey.valueOf("svcmove.peerCert");
    /** Why the channel is being closed, for whoever waits on it (the client's callers). */
    static final AttributeKey<Throwable> CLOSE_CAUSE = AttributeKey.valueOf("svcmove.closeCause");

    /** TLS succeeded and the peer's certificate names {@code node}: the hello exchange may start. */
    record Authenticated(String node) {}

    /** Hello exchanged, versions agree: requests may flow. */
    record Ready(String node, int protocol) {}

    private PeerEvents() {}

    /** First cause wins: later errors are usually consequences of the first. */
    static void recordCause(Channel ch, Throwable cause) {
        ch.attr(CLOSE_CAUSE).setIfAbsent(cause);
    }

    /** The channel's value of {@code key}, made by {@code fresh} on first use (from any thread). */
    static <T> T attribute(Channel ch, AttributeKey<T> key, Supplier<T> fresh) {
        T v = ch.attr(key).get();
        if (v == null) {
            T made = fresh.get();
            v = ch.attr(key).setIfAbsent(made);
            v = v == null ? made : v;
        }
        return v;
    }

    /** "node1 (127.0.0.1:40312)" once authenticated, else just the address. */
    static String describe(Channel ch) {
        String node = ch.attr(PEER_NODE).get();
        String addr = address(ch.remoteAddress());
        return node == null ? addr : node + " (" + addr + ")";
    }

    static String address(SocketAddress a) {
        if (a instanceof InetSocketAddress i) {
            // The literal address, not a name the JVM happens to know for it: that is what operators grep for.
            String host = i.getAddress() != null ? i.getAddress().getHostAddress() : i.getHostString();
            return host + ":" + i.getPort();
        }
        return String.valueOf(a);
    }
}
