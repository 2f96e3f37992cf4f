package io.svcmove.migrator.pki;

import java.io.IOException;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.interfaces.ECPrivateKey;
import org.bouncycastle.asn1.DERBitString;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.util.io.pem.PemObject;
import org.bouncycastle.util.io.pem.PemWriter;

/**
 * The node's key as CRIU's TLS (GnuTLS) reads it. Java writes an EC key's PKCS#8 without the
 * public point, which GnuTLS refuses ("ASN1 parser: Element was not found"); the point is in the
 * node's certificate, so the key is rewritten with it.
 */
public final class GnuTlsKey {
    private GnuTlsKey() {}

    /** Writes {@code out} (0600) from the node's key and certificate, unless it is there already. */
    public static Path write(Path keyFile, Path certFile, Path out) throws IOException {
        if (Files.isRegularFile(out) && Files.getLastModifiedTime(out).compareTo(Files.getLastModifiedTime(keyFile)) >= 0) {
            return out;
        }
        if (!(ClusterPki.loadPrivateKey(keyFile) instanceof ECPrivateKey key)) {
            Files.copy(keyFile, out, StandardCopyOption.REPLACE_EXISTING); // RSA keys carry what GnuTLS needs
            return out;
        }
        SubjectPublicKeyInfo pub = SubjectPublicKeyInfo.getInstance(ClusterPki.loadCertificate(certFile).getPublicKey().getEncoded());
        AlgorithmIdentifier alg = pub.getAlgorithm();
        org.bouncycastle.asn1.sec.ECPrivateKey sec1 = new org.bouncycastle.asn1.sec.ECPrivateKey(key.getParams().getOrder().bitLength(),
                key.getS(), new DERBitString(pub.getPublicKeyData().getBytes()), null);
        byte[] pkcs8 = new PrivateKeyInfo(alg, sec1).getEncoded();
        StringWriter pem = new StringWriter();
        try (PemWriter w = new PemWriter(pem)) {
            w.writeObject(new PemObject("PRIVATE KEY", pkcs8));
        }
        Path tmp = out.resolveSibling(out.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(tmp, pem.toString(), StandardOpenOption.TRUNCATE_EXISTING);
        Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return out;
    }
}
