package io.svcmove.migrator.pki;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SignatureException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MovePageAuthorityTest {
    @TempDir
    Path dir;

    @Test
    void certifiesTheDestinationsOwnKeyUnderItsNameAndAddressOnly() throws Exception {
        ClusterPki.Issued ca = ClusterPki.createCa(dir);
        ClusterPki.Issued node2 = ClusterPki.issueNode(dir, "node2", List.of(InetAddress.getByName("198.18.0.12")));
        MovePageAuthority move = MovePageAuthority.create("web-1a2b3c4d", Duration.ofMinutes(5));

        X509Certificate page = move.issue(node2.cert(), InetAddress.getByName("198.18.0.12"));

        page.verify(move.certificate().getPublicKey());
        assertThrows(SignatureException.class, () -> page.verify(ca.cert().getPublicKey()), "not a certificate of the cluster CA");
        assertEquals(node2.cert().getPublicKey(), page.getPublicKey(), "the destination's own key: no key travels");
        assertEquals("node2", ClusterPki.commonName(page));
        assertEquals(List.of(List.of(2, "node2"), List.of(7, "198.18.0.12")), page.getSubjectAlternativeNames().stream().toList());
        assertEquals(List.of("1.3.6.1.5.5.7.3.2"), page.getExtendedKeyUsage(), "a TLS client only");
        assertEquals(-1, page.getBasicConstraints(), "not a CA");
        assertTrue(move.certificate().getBasicConstraints() >= 0, "the move's CA is one");
        assertTrue(move.certificate().getSubjectX500Principal().getName().contains("web-1a2b3c4d"), "named after its move");
        assertTrue(page.getNotAfter().toInstant().isBefore(Instant.now().plus(Duration.ofMinutes(6))), "valid for the move only");
        assertEquals(move.certificate().getNotAfter(), page.getNotAfter());
    }

    @Test
    void anotherMovesCertificateIsNotThisOnes() throws Exception {
        ClusterPki.createCa(dir);
        ClusterPki.Issued node2 = ClusterPki.issueNode(dir, "node2", List.of());
        MovePageAuthority first = MovePageAuthority.create("web-1", Duration.ofMinutes(5));
        MovePageAuthority second = MovePageAuthority.create("web-2", Duration.ofMinutes(5));
        X509Certificate page = first.issue(node2.cert(), InetAddress.getByName("198.18.0.12"));
        assertThrows(SignatureException.class, () -> page.verify(second.certificate().getPublicKey()));
    }

    @Test
    void writesOnlyItsPublicCertificateAndNeverOverwrites() throws Exception {
        MovePageAuthority move = MovePageAuthority.create("web-1", Duration.ofMinutes(5));
        Path file = dir.resolve("page-ca.crt");
        move.writeCertificate(file);
        String pem = Files.readString(file);
        assertTrue(pem.startsWith("-----BEGIN CERTIFICATE-----") && !pem.contains("PRIVATE"), pem);
        assertThrows(IOException.class, () -> move.writeCertificate(file));
    }

    @Test
    void aPeerCertificateIsTakenOnlyForItsNodeAndFromTheClusterCa() throws Exception {
        ClusterPki.Issued ca = ClusterPki.createCa(dir);
        ClusterPki.Issued node2 = ClusterPki.issueNode(dir, "node2", List.of());
        Path other = dir.resolve("other");
        ClusterPki.createCa(other);
        ClusterPki.Issued foreign = ClusterPki.issueNode(other, "node2", List.of());
        String pem = ClusterPki.toPem(node2.cert());

        assertEquals(node2.cert(), ClusterPki.peerCertificate("node2", pem, ca.cert()));
        IOException wrongName = assertThrows(IOException.class, () -> ClusterPki.peerCertificate("node3", pem, ca.cert()));
        assertTrue(wrongName.getMessage().contains("certificate of 'node2'"), wrongName.getMessage());
        IOException wrongCa = assertThrows(IOException.class,
                () -> ClusterPki.peerCertificate("node2", ClusterPki.toPem(foreign.cert()), ca.cert()));
        assertTrue(wrongCa.getMessage().contains("not a valid one of the cluster CA"), wrongCa.getMessage());
        assertThrows(IOException.class, () -> ClusterPki.peerCertificate("node2", "not a certificate", ca.cert()));
    }
}
