package io.svcmove.migrator.peer;

import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.NotSslRecordException;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.svcmove.migrator.pki.NodeIdentity;
import java.util.function.Predicate;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;

/** TLS 1.3 contexts for the peer channel: this node's key, trust in the cluster CA only. */
final class PeerTls {
    /**
     * BoringSSL (netty-tcnative, whose jar ships the native library) when it loads, else the JDK:
     * BoringSSL's AES runs at hardware speed from the first byte, the JDK's only once the JIT has
     * compiled it (measured: a small service's images took 350 ms on a fresh agent, 30 ms warm).
     */
    static final SslProvider PROVIDER = OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK;

    static final String[] PROTOCOLS = {"TLSv1.3"};

    private PeerTls() {}

    /** What the server accepts: client certificates of the cluster CA naming a node {@code isPeer} accepts. */
    static ClusterTrust.Rules serverRules(NodeIdentity id, Predicate<String> isPeer) {
        return new ClusterTrust.Rules(id.ca(), isPeer, "which is not in the [[peers]] of " + id.name());
    }

    /** Server side: this node's key and certificate, a client certificate required and checked by {@code trust}. */
    static SslContext server(NodeIdentity id, ClusterTrust trust) throws SSLException {
        return SslContextBuilder.forServer(id.key(), id.certificate())
                .sslProvider(PROVIDER)
                .protocols(PROTOCOLS)
                .clientAuth(ClientAuth.REQUIRE)
                .trustManager(trust)
                .build();
    }

    /** Client side: the server must be exactly {@code expectedNode}. */
    static SslContext client(NodeIdentity id, String expectedNode) throws SSLException {
        return SslContextBuilder.forClient()
                .keyManager(id.key(), id.certificate())
                .sslProvider(PROVIDER)
                .protocols(PROTOCOLS)
                .trustManager(new ClusterTrust(clientRules(id, expectedNode)))
                .build();
    }

    /** What the client accepts: a server certificate of the cluster CA naming exactly {@code expectedNode}. */
    static ClusterTrust.Rules clientRules(NodeIdentity id, String expectedNode) {
        return new ClusterTrust.Rules(id.ca(), expectedNode::equals, "not the expected '" + expectedNode + "'");
    }

    /**
     * Whether a handshake error is the other end's alert that it refused our certificate: the JDK
     * says "fatal alert"; BoringSSL names the alert (a trust manager's refusal becomes an internal
     * error alert there).
     */
    static boolean isRefusalAlert(String msg) {
        return msg.contains("fatal alert") || msg.contains("ALERT_INTERNAL_ERROR") || msg.contains("ALERT_BAD_CERTIFICATE")
                || msg.contains("ALERT_CERTIFICATE_UNKNOWN") || msg.contains("ALERT_UNKNOWN_CA")
                || msg.contains("ALERT_CERTIFICATE_REQUIRED") || msg.contains("ALERT_HANDSHAKE_FAILURE");
    }

    /** A short, operator-readable reason for a failed handshake. */
    static String reason(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof ClusterTrust.Refused) {
                return t.getMessage();
            }
            if (t instanceof NotSslRecordException) {
                return "not a TLS connection";
            }
        }
        String msg = failure.getMessage() == null ? failure.getClass().getSimpleName() : failure.getMessage();
        if (msg.contains("Empty client certificate chain") || msg.contains("Empty server certificate chain")
                || msg.contains("PEER_DID_NOT_RETURN_A_CERTIFICATE")) {
            return "no certificate presented";
        }
        if (msg.contains("protocol_version") || msg.contains("No appropriate protocol") || msg.contains("PROTOCOL_VERSION")
                || msg.contains("UNSUPPORTED_PROTOCOL")) {
            return "TLS version not supported (peers speak TLS 1.3 only)";
        }
        if (isRefusalAlert(msg)) {
            return "the other end refused this node's certificate (" + msg + ")";
        }
        if (failure instanceof SSLHandshakeException && msg.contains("timed out")) {
            return "TLS handshake timed out";
        }
        return msg;
    }
}
