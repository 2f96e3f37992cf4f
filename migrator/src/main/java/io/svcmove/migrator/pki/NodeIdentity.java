package io.svcmove.migrator.pki;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.X509Certificate;
import java.util.EnumSet;
import java.util.Set;

/**
 * What an agent needs to join the cluster's channel: its name, its key and certificate, and the
 * cluster CA it trusts (and nothing else).
 */
public record NodeIdentity(String name, PrivateKey key, X509Certificate certificate, X509Certificate ca) {

    private static final Set<PosixFilePermission> TOO_OPEN = EnumSet.of(
            PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_EXECUTE,
            PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_EXECUTE);

    /** Loads {@code NODE.key}, {@code NODE.crt} and {@code ca.crt} from a PKI directory. */
    public static NodeIdentity load(Path dir, String nodeName) throws IOException {
        return load(nodeName, dir.resolve(nodeName + ".key"), dir.resolve(nodeName + ".crt"), dir.resolve(ClusterPki.CA_CERT));
    }

    /**
     * Loads and checks an identity: the key must be private to its owner (anyone who can read it can
     * act as root on every node), match the certificate, and the certificate must name
     * {@code nodeName} and be signed by the CA and currently valid.
     */
    public static NodeIdentity load(String nodeName, Path keyFile, Path certFile, Path caFile) throws IOException {
        if (Files.exists(keyFile)) {
            Set<PosixFilePermission> mode = Files.getPosixFilePermissions(keyFile);
            mode.retainAll(TOO_OPEN);
            if (!mode.isEmpty()) {
                throw new IOException(keyFile + " is readable or writable by other users: run `chmod 600 " + keyFile + "`");
            }
        }
        PrivateKey key = ClusterPki.loadPrivateKey(keyFile);
        X509Certificate cert = ClusterPki.loadCertificate(certFile);
        X509Certificate ca = ClusterPki.loadCertificate(caFile);
        String cn = ClusterPki.commonName(cert);
        if (!nodeName.equals(cn)) {
            throw new IOException(certFile + " is for node '" + cn + "', not '" + nodeName
                    + "': check the node name in the agent's configuration");
        }
        try {
            cert.verify(ca.getPublicKey());
        } catch (GeneralSecurityException e) {
            throw new IOException(certFile + " is not signed by the cluster CA in " + caFile
                    + ": issue it with `svcmove cert node " + nodeName + "` in the CA's directory");
        }
        try {
            cert.checkValidity();
        } catch (CertificateExpiredException e) {
            throw new IOException(certFile + " expired on " + cert.getNotAfter().toInstant() + ": "
                    + CertificateExpiry.renewal(nodeName));
        } catch (CertificateNotYetValidException e) {
            throw new IOException(certFile + " is valid only from " + cert.getNotBefore().toInstant()
                    + ": check this machine's clock");
        }
        if (!ClusterPki.matches(key, cert.getPublicKey())) {
            throw new IOException(keyFile + " is not the key of " + certFile + ": copy the pair issued together");
        }
        return new NodeIdentity(nodeName, key, cert, ca);
    }
}
