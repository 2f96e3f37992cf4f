package io.svcmove.migrator.peer;

import io.svcmove.migrator.pki.CertificateExpiry;
import io.svcmove.migrator.pki.ClusterPki;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.function.Predicate;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Trusts a peer certificate only if the cluster CA signed it directly, it is valid now, issued for
 * this use, not a CA, and names an acceptable node. Each refusal says which rule failed, so the
 * log tells the operator what to fix.
 */
final class ClusterTrust extends X509ExtendedTrustManager {
    private static final String SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
    private static final String CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
    private static final X509Certificate[] NO_ISSUERS = new X509Certificate[0];

    /** A refusal with the rule that failed as its message. */
    static final class Refused extends CertificateException {
        private static final long serialVersionUID = 1L;

        Refused(String message) {
            super(message);
        }
    }

    /**
     * Which CA signs, and which node names pass: replaced whole on reload. {@code nameRule}
     * completes "certificate names node 'x', ..." when {@code acceptName} says no.
     */
    record Rules(X509Certificate ca, Predicate<String> acceptName, String nameRule) {}

    private volatile Rules rules;

    ClusterTrust(Rules rules) {
        this.rules = rules;
    }

    /** Later handshakes (those under way included) and {@link #check} follow {@code next}. */
    void update(Rules next) {
        rules = next;
    }

    /** Checks a client certificate, e.g. one of a connection already open, against the rules of now. */
    void checkClient(X509Certificate cert) throws Refused {
        check(new X509Certificate[] {cert}, CLIENT_AUTH);
    }

    /** Checks a server certificate against the rules of now. */
    void checkServer(X509Certificate cert) throws Refused {
        check(new X509Certificate[] {cert}, SERVER_AUTH);
    }

    void check(X509Certificate[] chain, String purpose) throws Refused {
        if (chain == null || chain.length == 0) {
            throw new Refused("no certificate presented");
        }
        Rules r = rules;
        X509Certificate leaf = chain[0];
        try {
            leaf.verify(r.ca().getPublicKey());
        } catch (GeneralSecurityException e) {
            throw new Refused("certificate not signed by the cluster CA (issuer: " + leaf.getIssuerX500Principal().getName() + ")");
        }
        String name = ClusterPki.commonName(leaf);
        try {
            leaf.checkValidity();
        } catch (CertificateExpiredException e) {
            throw new Refused("the certificate of " + (name == null ? "this peer" : name) + " expired on "
                    + leaf.getNotAfter().toInstant() + ": " + CertificateExpiry.renewal(name == null ? "NODE" : name));
        } catch (CertificateNotYetValidException e) {
            throw new Refused("certificate not valid before " + leaf.getNotBefore().toInstant() + " (check the clocks)");
        }
        if (leaf.getBasicConstraints() != -1) {
            throw new Refused("a CA certificate cannot identify a node");
        }
        List<String> eku;
        try {
            eku = leaf.getExtendedKeyUsage();
        } catch (CertificateException e) {
            throw new Refused("unreadable extended key usage: " + e.getMessage());
        }
        if (eku == null || !eku.contains(purpose)) {
            throw new Refused("certificate not issued for TLS " + (purpose.equals(CLIENT_AUTH) ? "client" : "server")
                    + " use: issue it with `svcmove cert node`");
        }
        if (name == null || !r.acceptName().test(name)) {
            throw new Refused("certificate names node '" + name + "', " + r.nameRule());
        }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        check(chain, CLIENT_AUTH);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        check(chain, CLIENT_AUTH);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        check(chain, CLIENT_AUTH);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        check(chain, SERVER_AUTH);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        check(chain, SERVER_AUTH);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        check(chain, SERVER_AUTH);
    }

    /**
     * Empty on purpose: a peer then always presents its certificate, even one from another CA, so
     * the refusal names the real reason instead of "no certificate".
     */
    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return NO_ISSUERS;
    }
}
