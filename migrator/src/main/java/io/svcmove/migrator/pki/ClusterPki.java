package io.svcmove.migrator.pki;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.Reader;
import java.io.StringWriter;
import java.io.Writer;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x500.style.IETFUtils;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.util.io.pem.PemObject;

/**
 * The cluster's private CA: one EC P-256 CA that signs one certificate per node. Agents trust
 * only this CA, so holding a node certificate is what makes a machine a member of the cluster.
 *
 * <p>Layout of a PKI directory: {@code ca.key}, {@code ca.crt}, and {@code NODE.key} +
 * {@code NODE.crt} per node, all PEM; keys are created 0600. A node needs only {@code ca.crt}
 * and its own pair; {@code ca.key} should stay on the machine that issues certificates.
 */
public final class ClusterPki {
    public static final String CA_KEY = "ca.key";
    public static final String CA_CERT = "ca.crt";
    public static final Duration CA_VALIDITY = Duration.ofDays(3653);
    public static final Duration NODE_VALIDITY = Duration.ofDays(731);
    /** Backdating absorbs clock skew between the issuing machine and the nodes. */
    static final Duration BACKDATE = Duration.ofHours(1);
    private static final String SIGNATURE = "SHA256withECDSA";
    /** Host-name-like, usable as a file name and a DNS SAN; "ca" would clash with the CA's files. */
    private static final Pattern NODE_NAME = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*");
    private static final Set<PosixFilePermission> KEY_MODE = PosixFilePermissions.fromString("rw-------");
    private static final SecureRandom RANDOM = new SecureRandom();

    private ClusterPki() {}

    /** Files written by one command, for the CLI to print. */
    public record Issued(Path key, Path certificate, X509Certificate cert) {}

    /** Creates {@code ca.key} and {@code ca.crt} in {@code dir} (created if missing); never overwrites a CA. */
    public static Issued createCa(Path dir) throws IOException {
        Path key = dir.resolve(CA_KEY);
        Path crt = dir.resolve(CA_CERT);
        refuseExisting(key, "a cluster CA already exists in " + dir
                + "; every node certificate depends on it, so it is never overwritten (use another --dir to start a new cluster)");
        refuseExisting(crt, "a cluster CA certificate already exists in " + dir
                + "; it is never overwritten (use another --dir to start a new cluster)");
        Files.createDirectories(dir);
        KeyPair pair = newKeyPair();
        Instant now = Instant.now();
        // A distinct name per CA, so a refusal that quotes the issuer shows which cluster it came from.
        X500Name subject = new X500Name("CN=svcmove cluster CA " + now.toString().substring(0, 10) + " "
                + String.format("%08x", RANDOM.nextInt()));
        try {
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(subject, serial(),
                    Date.from(now.minus(BACKDATE)), Date.from(now.plus(CA_VALIDITY)), subject, pair.getPublic());
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(pair.getPublic()));
            X509Certificate cert = sign(b, pair.getPrivate());
            writeKey(key, pair.getPrivate());
            writePem(crt, cert);
            return new Issued(key, crt, cert);
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot create the cluster CA: " + e.getMessage(), e);
        }
    }

    /**
     * Issues {@code NODE.key} and {@code NODE.crt} in {@code dir}, signed by the CA there: CN and DNS
     * SAN are the node name, the IPs become IP SANs, EKU allows both TLS client and server.
     */
    public static Issued issueNode(Path dir, String nodeName, List<InetAddress> ips) throws IOException {
        return issueNode(dir, nodeName, ips, Instant.now().plus(NODE_VALIDITY));
    }

    /**
     * As {@link #issueNode(Path, String, List)}, valid until {@code notAfter} (never past the CA's
     * own end): a short-lived certificate, or one already expired, to test what expiry does.
     */
    public static Issued issueNode(Path dir, String nodeName, List<InetAddress> ips, Instant notAfter) throws IOException {
        checkNodeName(nodeName);
        Path caKeyPath = dir.resolve(CA_KEY);
        Path caCrtPath = dir.resolve(CA_CERT);
        if (!Files.exists(caKeyPath) || !Files.exists(caCrtPath)) {
            throw new IOException("no cluster CA in " + dir + " (" + CA_KEY + " and " + CA_CERT
                    + " needed): run `svcmove cert ca --dir " + dir + "` first");
        }
        Path key = dir.resolve(nodeName + ".key");
        Path crt = dir.resolve(nodeName + ".crt");
        refuseExisting(key, "node " + nodeName + " already has a key in " + dir + "; delete " + key + " and "
                + crt + " first to re-issue it");
        refuseExisting(crt, "node " + nodeName + " already has a certificate in " + dir + "; delete " + crt
                + " first to re-issue it");
        PrivateKey caKey = loadPrivateKey(caKeyPath);
        X509Certificate caCert = loadCertificate(caCrtPath);
        KeyPair pair = newKeyPair();
        Instant now = Instant.now();
        if (notAfter.isAfter(caCert.getNotAfter().toInstant())) {
            notAfter = caCert.getNotAfter().toInstant();
        }
        Instant notBefore = now.minus(BACKDATE);
        if (!notBefore.isBefore(notAfter)) {
            notBefore = notAfter.minus(BACKDATE);
        }
        try {
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(caCert, serial(),
                    Date.from(notBefore), Date.from(notAfter),
                    new X500Principal("CN=" + nodeName), pair.getPublic());
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
            b.addExtension(Extension.extendedKeyUsage, false,
                    new ExtendedKeyUsage(new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}));
            List<GeneralName> names = new ArrayList<>();
            names.add(new GeneralName(GeneralName.dNSName, nodeName));
            for (InetAddress ip : ips) {
                names.add(new GeneralName(GeneralName.iPAddress, ip.getHostAddress()));
            }
            b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names.toArray(GeneralName[]::new)));
            b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(pair.getPublic()));
            b.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(caCert));
            X509Certificate cert = sign(b, caKey);
            writeKey(key, pair.getPrivate());
            writePem(crt, cert);
            return new Issued(key, crt, cert);
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot issue a certificate for " + nodeName + ": " + e.getMessage(), e);
        }
    }

    /**
     * A certificate a peer sent as its own, trusted only if {@code ca} signed it for the node name
     * {@code node} and it is valid now: a peer that answers with another node's certificate, or a
     * forged one, is refused with the reason.
     */
    public static X509Certificate peerCertificate(String node, String pem, X509Certificate ca) throws IOException {
        X509Certificate cert;
        try {
            cert = (X509Certificate) CertificateFactory.getInstance("X.509")
                    .generateCertificate(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)));
        } catch (GeneralSecurityException e) {
            throw new IOException(node + " answered with no readable certificate: " + e.getMessage(), e);
        }
        if (!node.equals(commonName(cert))) {
            throw new IOException(node + " answered with the certificate of '" + commonName(cert) + "'");
        }
        try {
            cert.verify(ca.getPublicKey());
            cert.checkValidity();
        } catch (GeneralSecurityException e) {
            throw new IOException(node + "'s certificate is not a valid one of the cluster CA: " + e.getMessage(), e);
        }
        return cert;
    }

    /** Throws {@link IllegalArgumentException} naming the rule if {@code name} cannot be a node name. */
    public static void checkNodeName(String name) {
        if (name == null || name.length() > 253 || !NODE_NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("invalid node name '" + name
                    + "': use a host name (letters, digits, '-' and '.', at most 253 characters)");
        }
        if (name.equalsIgnoreCase("ca")) {
            throw new IllegalArgumentException("'ca' cannot be a node name: its files would clash with the CA's");
        }
    }

    /** The CN of a node certificate's subject, which is the node's name; null if there is none. */
    public static String commonName(X509Certificate cert) {
        X500Name name = X500Name.getInstance(cert.getSubjectX500Principal().getEncoded());
        RDN[] cns = name.getRDNs(BCStyle.CN);
        return cns.length == 0 ? null : IETFUtils.valueToString(cns[0].getFirst().getValue());
    }

    /** Reads a PEM private key (PKCS#8, or the EC/RSA "traditional" form openssl also writes). */
    public static PrivateKey loadPrivateKey(Path file) throws IOException {
        Object o = readPem(file);
        JcaPEMKeyConverter conv = new JcaPEMKeyConverter();
        if (o instanceof PrivateKeyInfo info) {
            return conv.getPrivateKey(info);
        }
        if (o instanceof PEMKeyPair pair) {
            return conv.getKeyPair(pair).getPrivate();
        }
        throw new IOException(file + " holds no unencrypted private key (found " + describe(o) + ")");
    }

    /** Reads the first PEM certificate in {@code file}. */
    public static X509Certificate loadCertificate(Path file) throws IOException {
        Object o = readPem(file);
        if (o instanceof X509CertificateHolder holder) {
            try {
                return new JcaX509CertificateConverter().getCertificate(holder);
            } catch (GeneralSecurityException e) {
                throw new IOException(file + ": unreadable certificate: " + e.getMessage(), e);
            }
        }
        throw new IOException(file + " holds no certificate (found " + describe(o) + ")");
    }

    /** PEM text of a certificate, e.g. for logs or for handing {@code ca.crt} to a new node. */
    public static String toPem(X509Certificate cert) throws IOException {
        StringWriter w = new StringWriter();
        try (JcaPEMWriter pem = new JcaPEMWriter(w)) {
            pem.writeObject(cert);
        }
        return w.toString();
    }

    private static Object readPem(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IOException(file + " does not exist or is not a file");
        }
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.US_ASCII); PEMParser p = new PEMParser(r)) {
            Object o = p.readObject();
            if (o == null) {
                throw new IOException(file + " contains no PEM block");
            }
            return o;
        }
    }

    private static String describe(Object o) {
        return o == null ? "nothing" : o.getClass().getSimpleName();
    }

    private static void refuseExisting(Path file, String message) throws IOException {
        if (Files.exists(file)) {
            throw new FileAlreadyExistsException(file.toString(), null, message);
        }
    }

    static KeyPair newKeyPair() throws IOException {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IOException("this JVM cannot generate EC P-256 keys: " + e.getMessage(), e);
        }
    }

    static BigInteger serial() {
        return new BigInteger(127, RANDOM).add(BigInteger.ONE);
    }

    static X509Certificate sign(JcaX509v3CertificateBuilder b, PrivateKey signer) throws GeneralSecurityException {
        try {
            X509CertificateHolder holder = b.build(new JcaContentSignerBuilder(SIGNATURE).build(signer));
            return new JcaX509CertificateConverter().getCertificate(holder);
        } catch (OperatorCreationException e) {
            throw new GeneralSecurityException("cannot sign with the CA key: " + e.getMessage(), e);
        }
    }

    /** The file is created 0600 before any byte is written, so the key is never readable by others. */
    private static void writeKey(Path file, PrivateKey key) throws IOException {
        Files.createFile(file, PosixFilePermissions.asFileAttribute(KEY_MODE));
        try (Writer w = Files.newBufferedWriter(file, StandardCharsets.US_ASCII, StandardOpenOption.TRUNCATE_EXISTING);
                JcaPEMWriter pem = new JcaPEMWriter(w)) {
            pem.writeObject(new PemObject("PRIVATE KEY", key.getEncoded()));
        }
        Files.setPosixFilePermissions(file, KEY_MODE);
    }

    private static void writePem(Path file, X509Certificate cert) throws IOException {
        Files.writeString(file, toPem(cert), StandardCharsets.US_ASCII, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    }

    /** True if {@code key} is the private half of {@code pub} (sign and verify a probe). */
    static boolean matches(PrivateKey key, PublicKey pub) {
        try {
            java.security.Signature s = java.security.Signature.getInstance(SIGNATURE);
            byte[] probe = "svcmove".getBytes(StandardCharsets.US_ASCII);
            s.initSign(key);
            s.update(probe);
            byte[] sig = s.sign();
            s.initVerify(pub);
            s.update(probe);
            return s.verify(sig);
        } catch (GeneralSecurityException e) {
            return false;
        }
    }
}
