package io.svcmove.migrator.pki;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;

/**
 * A certificate authority that exists for one lazy move. The source's page server trusts only it
 * (not the cluster CA, which every node holds a certificate of), and it signs one certificate: the
 * destination's own node key, under that node's name and address, valid for the move's page
 * timeout. So only the destination can read the moving service's memory, and only in that move.
 * No private key travels: the destination already holds its node key, and this CA's key stays in
 * the source agent's memory and is gone with the move.
 */
public final class MovePageAuthority {
    /** Clocks of the two nodes may differ a little; the source, which made the certificate, is the one that checks it. */
    private static final Duration SKEW = Duration.ofMinutes(1);

    private final KeyPair pair;
    private final X509Certificate certificate;
    private final Instant notAfter;

    private MovePageAuthority(KeyPair pair, X509Certificate certificate, Instant notAfter) {
        this.pair = pair;
        this.certificate = certificate;
        this.notAfter = notAfter;
    }

    /** A fresh CA for the move {@code moveId}, valid from now for {@code validity}. */
    public static MovePageAuthority create(String moveId, Duration validity) throws IOException {
        KeyPair pair = ClusterPki.newKeyPair();
        Instant now = Instant.now();
        Instant notAfter = now.plus(validity);
        X500Name subject = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, "svcmove pages of move " + moveId).build();
        try {
            JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(subject, ClusterPki.serial(), Date.from(now.minus(SKEW)),
                    Date.from(notAfter), subject, pair.getPublic());
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign));
            b.addExtension(Extension.subjectKeyIdentifier, false, new JcaX509ExtensionUtils().createSubjectKeyIdentifier(pair.getPublic()));
            return new MovePageAuthority(pair, ClusterPki.sign(b, pair.getPrivate()), notAfter);
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot make the page CA of move " + moveId + ": " + e.getMessage(), e);
        }
    }

    public X509Certificate certificate() {
        return certificate;
    }

    /** Writes this CA's certificate (public) to {@code file}, for CRIU's {@code --tls-cacert}. */
    public void writeCertificate(Path file) throws IOException {
        Files.writeString(file, ClusterPki.toPem(certificate), StandardCharsets.US_ASCII, StandardOpenOption.CREATE_NEW,
                StandardOpenOption.WRITE);
    }

    /**
     * The page certificate of the destination: the key of {@code node} (its cluster certificate,
     * already checked against the cluster CA), its name, and {@code address}, the one it fetches
     * from; a TLS client only, and no longer valid than this CA.
     */
    public X509Certificate issue(X509Certificate node, InetAddress address) throws IOException {
        String name = ClusterPki.commonName(node);
        try {
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(certificate, ClusterPki.serial(),
                    Date.from(Instant.now().minus(SKEW)), Date.from(notAfter),
                    new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, name).build(), node.getPublicKey());
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
            b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_clientAuth));
            b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName[] {
                new GeneralName(GeneralName.dNSName, name), new GeneralName(GeneralName.iPAddress, address.getHostAddress())}));
            b.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(certificate));
            return ClusterPki.sign(b, pair.getPrivate());
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot sign the page certificate of " + name + ": " + e.getMessage(), e);
        }
    }
}
