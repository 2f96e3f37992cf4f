package io.svcmove.migrator.pki;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CertificateExpiryTest {
    @TempDir Path dir;

    private X509Certificate issued(String node, Instant notAfter) throws IOException {
        if (!dir.resolve(ClusterPki.CA_CERT).toFile().exists()) {
            ClusterPki.createCa(dir);
        }
        return ClusterPki.issueNode(dir, node, List.of(), notAfter).cert();
    }

    @Test
    void aCertificateWithLongerThanThirtyDaysGivesNoWarning() throws IOException {
        Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
        X509Certificate cert = issued("node1", now.plus(Duration.ofDays(31)));
        assertEquals(30, CertificateExpiry.daysLeft(cert, now.plusSeconds(1)));
        assertFalse(CertificateExpiry.expiresSoon(cert, now));
        assertTrue(CertificateExpiry.warning("node1", cert, now).isEmpty());
    }

    @Test
    void withinThirtyDaysTheWarningSaysWhenAndHowToRenew() throws IOException {
        Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
        X509Certificate cert = issued("node2", now.plus(Duration.ofDays(12)).plusSeconds(60));
        assertTrue(CertificateExpiry.expiresSoon(cert, now));
        assertEquals("the certificate of node2 expires on " + cert.getNotAfter().toInstant() + " (in 12 days): renew it where"
                + " the cluster CA is: delete node2.key and node2.crt there, run `svcmove cert node node2 --dir DIR --ip ADDRESS`,"
                + " copy both files to node2 and run `systemctl reload svcmove-agent` there",
                CertificateExpiry.warning("node2", cert, now).orElseThrow());
    }

    @Test
    void anExpiredCertificateIsSaidToHaveExpired() throws IOException {
        Instant now = Instant.now();
        X509Certificate cert = issued("node3", now.minus(Duration.ofDays(3)));
        assertTrue(CertificateExpiry.expired(cert, now));
        assertTrue(CertificateExpiry.daysLeft(cert, now) < 0);
        assertTrue(CertificateExpiry.warning("node3", cert, now).orElseThrow()
                .startsWith("the certificate of node3 expired on " + cert.getNotAfter().toInstant() + ": renew it"));
        assertTrue(cert.getNotBefore().before(cert.getNotAfter()), "still a well-formed validity period");
    }
}
