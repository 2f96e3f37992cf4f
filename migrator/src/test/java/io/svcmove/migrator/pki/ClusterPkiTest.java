package io.svcmove.migrator.pki;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClusterPkiTest {
    @TempDir Path dir;

    @Test
    void caIsSelfSignedP256WithTenYearsAndPrivateKey() throws Exception {
        ClusterPki.Issued ca = ClusterPki.createCa(dir);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(ca.key())));
        X509Certificate cert = ClusterPki.loadCertificate(dir.resolve("ca.crt"));
        cert.verify(cert.getPublicKey());
        assertTrue(cert.getBasicConstraints() >= 0, "basicConstraints CA");
        assertEquals("secp256r1", curve(cert));
        long days = Duration.between(Instant.now(), cert.getNotAfter().toInstant()).toDays();
        assertTrue(days > 3600 && days < 3700, "about ten years, got " + days + " days");
        assertTrue(ClusterPki.matches(ClusterPki.loadPrivateKey(ca.key()), cert.getPublicKey()));
    }

    @Test
    void existingCaIsNeverOverwritten() throws Exception {
        ClusterPki.createCa(dir);
        byte[] before = Files.readAllBytes(dir.resolve("ca.key"));
        FileAlreadyExistsException e = assertThrows(FileAlreadyExistsException.class, () -> ClusterPki.createCa(dir));
        assertTrue(e.getMessage().contains("never overwritten"), e.getMessage());
        assertEquals(new String(before, StandardCharsets.US_ASCII), Files.readString(dir.resolve("ca.key")));
    }

    @Test
    void nodeCertificateCarriesNameIpsAndBothUsages() throws Exception {
        ClusterPki.createCa(dir);
        ClusterPki.Issued node = ClusterPki.issueNode(dir, "node1",
                List.of(InetAddress.getByName("198.18.0.11"), InetAddress.getByName("fd00::11")));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(node.key())));
        X509Certificate cert = ClusterPki.loadCertificate(dir.resolve("node1.crt"));
        X509Certificate ca = ClusterPki.loadCertificate(dir.resolve("ca.crt"));
        cert.verify(ca.getPublicKey());
        assertEquals("node1", ClusterPki.commonName(cert));
        assertEquals(-1, cert.getBasicConstraints());
        assertTrue(cert.getExtendedKeyUsage().containsAll(List.of("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2")));
        String sans = cert.getSubjectAlternativeNames().toString();
        assertTrue(sans.contains("node1") && sans.contains("198.18.0.11"), sans);
        long days = Duration.between(Instant.now(), cert.getNotAfter().toInstant()).toDays();
        assertTrue(days > 720 && days < 740, "about two years, got " + days + " days");

        NodeIdentity id = NodeIdentity.load(dir, "node1");
        assertEquals("node1", id.name());
    }

    @Test
    void nodeNeedsCaAndValidNameAndIsNotReissuedSilently() throws Exception {
        IOException noCa = assertThrows(IOException.class, () -> ClusterPki.issueNode(dir, "node1", List.of()));
        assertTrue(noCa.getMessage().contains("svcmove cert ca --dir"), noCa.getMessage());
        ClusterPki.createCa(dir);
        assertThrows(IllegalArgumentException.class, () -> ClusterPki.issueNode(dir, "../evil", List.of()));
        assertThrows(IllegalArgumentException.class, () -> ClusterPki.issueNode(dir, "ca", List.of()));
        ClusterPki.issueNode(dir, "node1", List.of());
        assertThrows(FileAlreadyExistsException.class, () -> ClusterPki.issueNode(dir, "node1", List.of()));
    }

    @Test
    void identityRefusesKeyReadableByOthersAndWrongName() throws Exception {
        ClusterPki.createCa(dir);
        ClusterPki.issueNode(dir, "node1", List.of());
        IOException wrongName = assertThrows(IOException.class, () -> NodeIdentity.load("node2",
                dir.resolve("node1.key"), dir.resolve("node1.crt"), dir.resolve("ca.crt")));
        assertTrue(wrongName.getMessage().contains("is for node 'node1'"), wrongName.getMessage());
        Files.setPosixFilePermissions(dir.resolve("node1.key"), PosixFilePermissions.fromString("rw-r--r--"));
        IOException open = assertThrows(IOException.class, () -> NodeIdentity.load(dir, "node1"));
        assertTrue(open.getMessage().contains("chmod 600"), open.getMessage());
    }

    @Test
    void identityRefusesCertificateOfAnotherCa(@TempDir Path other) throws Exception {
        ClusterPki.createCa(dir);
        ClusterPki.createCa(other);
        ClusterPki.issueNode(other, "node1", List.of());
        IOException e = assertThrows(IOException.class, () -> NodeIdentity.load("node1",
                other.resolve("node1.key"), other.resolve("node1.crt"), dir.resolve("ca.crt")));
        assertTrue(e.getMessage().contains("not signed by the cluster CA"), e.getMessage());
    }

    @Test
    void commandWritesFilesAndReportsUsageErrors() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8);
        String d = dir.toString();
        assertEquals(0, CertCommand.run(new String[] {"ca", "--dir", d}, o, e));
        assertEquals(0, CertCommand.run(new String[] {"node", "node2", "--dir", d, "--ip", "198.18.0.12", "--ip", "::1"}, o, e));
        assertTrue(out.toString(StandardCharsets.UTF_8).contains("node2.crt"), out.toString(StandardCharsets.UTF_8));
        assertEquals(1, CertCommand.run(new String[] {"ca", "--dir", d}, o, e));
        assertEquals(2, CertCommand.run(new String[] {"node", "node3", "--dir", d, "--ip", "example.org"}, o, e));
        assertEquals(2, CertCommand.run(new String[] {"node", "node3", "--dir", d, "--ip", "300.1.1.1"}, o, e));
        assertEquals(2, CertCommand.run(new String[] {"node", "--dir", d}, o, e));
        assertEquals(2, CertCommand.run(new String[] {"ca"}, o, e));
        assertEquals(2, CertCommand.run(new String[] {"bogus", "--dir", d}, o, e));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("usage: svcmove cert"));
    }

    private static String curve(X509Certificate cert) {
        ECPublicKey k = (ECPublicKey) cert.getPublicKey();
        return k.getParams().getCurve().getField().getFieldSize() == 256 ? "secp256r1" : "other";
    }
}
