package io.svcmove.migrator.criu;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.svcmove.migrator.pki.ClusterPki;
import io.svcmove.migrator.pki.GnuTlsKey;
import io.svcmove.migrator.pki.MovePageAuthority;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A lazy move's page server, narrowed to the move (issue 18): real CRIU (GnuTLS) serving with the
 * move's CA as its only trust, and a real TLS client (openssl) presenting each certificate a node
 * of the cluster could hold. Only the page certificate of the move's destination gets a session;
 * the destination's own cluster certificate, another node's and another move's are refused.
 */
class PageServerTrustIT {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    @TempDir
    Path dir;

    @Test
    void onlyTheMovesPageCertificateOfTheDestinationIsServed() throws Exception {
        Path pki = dir.resolve("pki");
        ClusterPki.createCa(pki);
        ClusterPki.Issued source = ClusterPki.issueNode(pki, "node1", List.of(LOOPBACK));
        ClusterPki.Issued destination = ClusterPki.issueNode(pki, "node2", List.of(LOOPBACK));
        ClusterPki.Issued third = ClusterPki.issueNode(pki, "node3", List.of(LOOPBACK));
        MovePageAuthority move = MovePageAuthority.create("web-1a2b3c4d", Duration.ofMinutes(5));
        Path moveCa = dir.resolve("page-ca.crt");
        move.writeCertificate(moveCa);
        Path pageCert = pem("node2-page.crt", move.issue(destination.cert(), LOOPBACK));
        Path otherMoveCert = pem("node2-other-move.crt",
                MovePageAuthority.create("web-99999999", Duration.ofMinutes(5)).issue(destination.cert(), LOOPBACK));
        Path serverKey = GnuTlsKey.write(source.key(), source.certificate(), dir.resolve("node1-gnutls.key"));
        PageServerTls tls = new PageServerTls(pki.resolve(ClusterPki.CA_CERT), source.certificate(), serverKey).trusting(moveCa);

        assertTrue(served(tls, pageCert, destination.key(), "page"), "the destination's page certificate gets a session");
        assertRefused(tls, destination.certificate(), destination.key(), "cluster");
        assertRefused(tls, third.certificate(), third.key(), "third");
        assertRefused(tls, otherMoveCert, destination.key(), "othermove");
        assertRefused(tls, null, null, "none");
    }

    private void assertRefused(PageServerTls tls, Path cert, Path key, String label) throws Exception {
        assertFalse(served(tls, cert, key, label), label + ": refused");
    }

    /**
     * Starts a page server, lets openssl connect with CERT, and says whether CRIU took the session
     * (its log shows it past the handshake) or refused it; each page server serves one connection.
     */
    private boolean served(PageServerTls tls, Path cert, Path key, String label) throws Exception {
        Path images = Files.createDirectories(dir.resolve("images-" + label));
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, LOOPBACK)) {
            port = s.getLocalPort();
        }
        List<String> server = new ArrayList<>(List.of(CriuTestBed.criuBinary().toString(), "page-server", "--images-dir",
                images.toString(), "--address", LOOPBACK.getHostAddress(), "--port", Integer.toString(port), "-v4", "-o", "ps.log"));
        server.addAll(tls.cliArgs());
        Process ps = new ProcessBuilder(server).redirectErrorStream(true).redirectOutput(dir.resolve("ps-" + label + ".out").toFile()).start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!listening(port)) {
                assertTrue(ps.isAlive() && System.nanoTime() < deadline, label + ": the page server did not listen\n" + log(images));
                Thread.sleep(20);
            }
            List<String> client = new ArrayList<>(List.of("openssl", "s_client", "-connect", LOOPBACK.getHostAddress() + ":" + port,
                    "-CAfile", dir.resolve("pki").resolve(ClusterPki.CA_CERT).toString()));
            if (cert != null) {
                client.addAll(List.of("-cert", cert.toString(), "-key", key.toString()));
            }
            Process c = new ProcessBuilder(client).redirectErrorStream(true).start();
            c.getOutputStream().close();
            c.getInputStream().readAllBytes();
            c.waitFor(10, TimeUnit.SECONDS);
            ps.waitFor(10, TimeUnit.SECONDS);
            String log = log(images);
            System.out.printf("PageServerTrustIT %s: CRIU said: %s%n", label, log.lines().filter(l -> l.contains("tls")).toList());
            // CRIU checks the client's certificate once GnuTLS's handshake is done, and logs only a failure.
            return log.contains("TLS handshake completed") && !log.contains("Error (criu/tls.c");
        } finally {
            ps.destroyForcibly();
            ps.waitFor(5, TimeUnit.SECONDS);
        }
    }

    /** Whether something listens on PORT (read from the kernel: a probing connect would be the server's one connection). */
    private static boolean listening(int port) throws IOException {
        String hex = String.format(":%04X ", port);
        return Files.readAllLines(Path.of("/proc/net/tcp")).stream().anyMatch(l -> l.contains(hex) && l.split("\\s+")[4].equals("0A"));
    }

    private static String log(Path images) throws IOException {
        Path log = images.resolve("ps.log");
        return Files.exists(log) ? Files.readString(log) : "(no log)";
    }

    private Path pem(String name, X509Certificate cert) throws IOException {
        Path file = dir.resolve(name);
        Files.writeString(file, ClusterPki.toPem(cert));
        return file;
    }
}
