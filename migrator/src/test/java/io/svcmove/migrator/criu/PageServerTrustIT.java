package io.svcmove.migrator.criu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.svcmove.migrator.pki.ClusterPki;
import io.svcmove.migrator.pki.GnuTlsKey;
import io.svcmove.migrator.pki.MovePageAuthority;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import io.svcmove.testbed.Wait;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A lazy move's page server, narrowed to the move (issue 18): real CRIU (GnuTLS, with svcmove's
 * patch) serving with the move's CA as its only trust, and a real TLS client (openssl) presenting
 * each certificate a node of the cluster could hold, one after the other, to the same server. The
 * destination's own cluster certificate, another node's, another move's and none are refused, and
 * the server goes on listening: then the destination's page certificate gets the session.
 */
class PageServerTrustIT {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    /** What the patched CRIU logs when it drops a client and accepts the next. */
    private static final String REFUSED = "Refused a page server client";

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

        Path images = Files.createDirectories(dir.resolve("images"));
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, LOOPBACK)) {
            port = s.getLocalPort();
        }
        List<String> server = new ArrayList<>(List.of(CriuTestBed.criuBinary().toString(), "page-server", "--images-dir",
                images.toString(), "--address", LOOPBACK.getHostAddress(), "--port", Integer.toString(port), "-v4", "-o", "ps.log"));
        server.addAll(tls.cliArgs());
        Process ps = new ProcessBuilder(server).redirectErrorStream(true).redirectOutput(dir.resolve("ps.out").toFile()).start();
        try {
            Wait.until(Duration.ofSeconds(10), "the page server listens", () -> listening(port) || !ps.isAlive());
            List<List<Path>> refused = List.of(List.of(destination.certificate(), destination.key()),
                    List.of(third.certificate(), third.key()), List.of(otherMoveCert, destination.key()), List.of());
            for (int i = 0; i < refused.size(); i++) {
                connect(port, refused.get(i));
                int expected = i + 1;
                Wait.until(Duration.ofSeconds(10), "CRIU refuses client " + expected, () -> refusals(images) >= expected || !ps.isAlive());
                assertTrue(ps.isAlive(), "the page server outlives refused client " + expected + ":\n" + log(images));
                assertEquals(expected, refusals(images), log(images));
            }
            connect(port, List.of(pageCert, destination.key()));
            assertTrue(ps.waitFor(10, TimeUnit.SECONDS), "the session ends when openssl leaves");
            String log = log(images);
            String last = log.substring(log.lastIndexOf(REFUSED));
            System.out.println("PageServerTrustIT: CRIU said: " + log.lines().filter(l -> l.contains("tls") || l.contains(REFUSED)).toList());
            assertTrue(last.contains("TLS handshake completed") && !last.contains("Error (criu/tls.c"),
                    "the destination's page certificate gets the session:\n" + log);
        } finally {
            ps.destroyForcibly();
            ps.waitFor(5, TimeUnit.SECONDS);
        }
    }

    /** openssl connects to the page server presenting CERT and KEY (none if empty), and leaves at once. */
    private void connect(int port, List<Path> certAndKey) throws Exception {
        List<String> client = new ArrayList<>(List.of("openssl", "s_client", "-connect", LOOPBACK.getHostAddress() + ":" + port,
                "-CAfile", dir.resolve("pki").resolve(ClusterPki.CA_CERT).toString()));
        if (!certAndKey.isEmpty()) {
            client.addAll(List.of("-cert", certAndKey.get(0).toString(), "-key", certAndKey.get(1).toString()));
        }
        Process c = new ProcessBuilder(client).redirectErrorStream(true).start();
        c.getOutputStream().close();
        c.getInputStream().readAllBytes();
        assertTrue(c.waitFor(10, TimeUnit.SECONDS), "openssl returns");
    }

    private static long refusals(Path images) {
        return log(images).lines().filter(l -> l.contains(REFUSED)).count();
    }

    /** Whether something listens on PORT (read from the kernel: a probing connect would be the server's one connection). */
    private static boolean listening(int port) {
        String hex = String.format(":%04X ", port);
        return read(Path.of("/proc/net/tcp")).lines().anyMatch(l -> l.contains(hex) && l.split("\\s+")[4].equals("0A"));
    }

    private static String log(Path images) {
        Path log = images.resolve("ps.log");
        return Files.exists(log) ? read(log) : "(no log)";
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private Path pem(String name, X509Certificate cert) throws IOException {
        Path file = dir.resolve(name);
        Files.writeString(file, ClusterPki.toPem(cert));
        return file;
    }
}
