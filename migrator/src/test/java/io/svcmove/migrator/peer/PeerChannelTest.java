package io.svcmove.migrator.peer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import io.svcmove.migrator.pki.ClusterPki;
import io.svcmove.migrator.pki.NodeIdentity;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/** Two agents over real TLS on 127.0.0.1, with certificates from {@link ClusterPki}. */
class PeerChannelTest {
    private static final Duration T = Duration.ofSeconds(10);
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    @TempDir static Path pki;
    @TempDir static Path otherPki;
    @TempDir Path work;
    private static ExecutorService executor;

    private PeerServer server;
    private InetSocketAddress serverAddress;
    private final AtomicInteger handled = new AtomicInteger();
    private final ListAppender<ILoggingEvent> log = new ListAppender<>();
    private final List<AutoCloseable> closeLater = new ArrayList<>();

    @BeforeAll
    static void certificates() throws IOException {
        executor = Executors.newCachedThreadPool();
        ClusterPki.createCa(pki);
        for (String node : List.of("node1", "node2", "node3")) {
            ClusterPki.issueNode(pki, node, List.of(LOOPBACK));
        }
        ClusterPki.createCa(otherPki);
        ClusterPki.issueNode(otherPki, "node1", List.of(LOOPBACK));
        ClusterPki.issueNode(otherPki, "node2", List.of(LOOPBACK));
    }

    @AfterAll
    static void stopExecutor() {
        executor.shutdownNow();
    }

    @BeforeEach
    void startNode2() throws IOException {
        log.start();
        logger(PeerAuthHandler.class).addAppender(log);
        logger(ConnectionGuard.class).addAppender(log);
        server = new PeerServer(NodeIdentity.load(pki, "node2"), Set.of("node1")::contains, executor);
        server.registerHandler("echo", (peer, body) -> {
            handled.incrementAndGet();
            return Map.of("from", peer, "echo", body);
        });
        server.registerHandler("fail", (peer, body) -> {
            handled.incrementAndGet();
            throw new IllegalStateException("service web is not running on node2");
        });
        server.registerHandler("huge", (peer, body) -> "x".repeat(Wire.MAX_FRAME + 1));
        server.registerHandler("slow", (peer, body) -> {
            Thread.sleep(2000);
            return "late";
        });
        server.acceptTransfers((peer, id) -> work.resolve("incoming").resolve(id));
        serverAddress = server.bind(new InetSocketAddress(LOOPBACK, 0));
    }

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : closeLater) {
            c.close();
        }
        server.close();
        logger(PeerAuthHandler.class).detachAppender(log);
        logger(ConnectionGuard.class).detachAppender(log);
    }

    private static Logger logger(Class<?> c) {
        return (Logger) LoggerFactory.getLogger(c);
    }

    private PeerClient client(NodeIdentity id) {
        return client(id, Wire.PROTOCOL);
    }

    private PeerClient client(NodeIdentity id, int protocol) {
        PeerClient c = new PeerClient(id, Map.of("node2", serverAddress), executor, protocol);
        closeLater.add(c);
        return c;
    }

    private static Throwable failure(Future<?> f) {
        ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(20, TimeUnit.SECONDS));
        return e.getCause();
    }

    private boolean logged(String text) throws InterruptedException {
        for (int i = 0; i < 50; i++) {
            if (log.list.stream().anyMatch(e -> e.getFormattedMessage().contains(text))) {
                return true;
            }
            Thread.sleep(50);
        }
        return false;
    }

    @Test
    void callRoundTripsAndReusesTheConnection() throws Exception {
        PeerClient node1 = client(NodeIdentity.load(pki, "node1"));
        for (int i = 0; i < 3; i++) {
            JsonNode reply = node1.call("node2", "echo", Map.of("n", i), T).get(20, TimeUnit.SECONDS);
            assertEquals("node1", reply.get("from").asText());
            assertEquals(i, reply.get("echo").get("n").asInt());
        }
        assertEquals(3, handled.get());
    }

    @Test
    void handlerErrorReachesTheCaller() throws Exception {
        PeerClient node1 = client(NodeIdentity.load(pki, "node1"));
        Throwable e = failure(node1.call("node2", "fail", null, T));
        PeerCallException call = assertInstanceOf(PeerCallException.class, e);
        assertEquals("service web is not running on node2", call.remoteMessage());
        assertTrue(e.getMessage().startsWith("node2 failed 'fail'"), e.getMessage());
        // The connection survives a failed call.
        assertEquals("node1", node1.call("node2", "echo", "x", T).get(20, TimeUnit.SECONDS).get("from").asText());
    }

    @Test
    void replyTooLargeForAFrameArrivesAsAnError() throws Exception {
        PeerClient node1 = client(NodeIdentity.load(pki, "node1"));
        Throwable e = failure(node1.call("node2", "huge", null, T));
        assertInstanceOf(PeerCallException.class, e);
        assertTrue(e.getMessage().contains("exceeds the 16 MiB frame limit"), e.getMessage());
        Throwable sent = failure(node1.call("node2", "echo", "y".repeat(Wire.MAX_FRAME), T));
        assertTrue(sent.getMessage().contains("cannot send 'echo'"), sent.getMessage());
        assertEquals("node1", node1.call("node2", "echo", "ok", T).get(20, TimeUnit.SECONDS).get("from").asText());
    }

    @Test
    void callTimesOutWithAClearMessage() throws Exception {
        PeerClient node1 = client(NodeIdentity.load(pki, "node1"));
        Throwable e = failure(node1.call("node2", "slow", null, Duration.ofMillis(300)));
        assertInstanceOf(PeerException.class, e);
        assertTrue(e.getMessage().contains("did not answer 'slow' within 300 ms"), e.getMessage());
    }

    @Test
    void clientFromAnotherCaIsRefusedBeforeAnyHandlerRuns() throws Exception {
        // Signed by another CA, but trusting ours: only the server's check can stop it.
        NodeIdentity foreign = NodeIdentity.load(otherPki, "node1");
        PeerClient stranger = client(new NodeIdentity("node1", foreign.key(), foreign.certificate(),
                ClusterPki.loadCertificate(pki.resolve("ca.crt"))));
        Throwable e = failure(stranger.call("node2", "echo", "hi", T));
        assertInstanceOf(PeerException.class, e);
        assertTrue(e.getMessage().contains("refused this node's certificate"), e.getMessage());
        assertTrue(logged("certificate not signed by the cluster CA"), log.list.toString());
        assertTrue(logged("refused 127.0.0.1"), log.list.toString());
        assertEquals(0, handled.get(), "no handler ran");
    }

    @Test
    void validCertificateOfANodeThatIsNotAPeerIsRefused() throws Exception {
        PeerClient node3 = client(NodeIdentity.load(pki, "node3"));
        Throwable e = failure(node3.call("node2", "echo", "hi", T));
        assertInstanceOf(PeerException.class, e);
        assertTrue(e.getMessage().startsWith("node2 (127.0.0.1:" + serverAddress.getPort() + ") refused this node's"), e.getMessage());
        assertTrue(logged("certificate names node 'node3', which is not in the [[peers]] of node2"), log.list.toString());
        assertEquals(0, handled.get());
    }

    @Test
    void serverFromAnotherCaOrWithTheWrongNameIsNotTrusted() throws Exception {
        try (PeerServer impostor = new PeerServer(NodeIdentity.load(otherPki, "node2"), n -> true, executor);
                PeerServer wrongNode = new PeerServer(NodeIdentity.load(pki, "node3"), n -> true, executor)) {
            InetSocketAddress a = impostor.bind(new InetSocketAddress(LOOPBACK, 0));
            InetSocketAddress b = wrongNode.bind(new InetSocketAddress(LOOPBACK, 0));
            PeerClient node1 = new PeerClient(NodeIdentity.load(pki, "node1"), Map.of("node2", a), executor);
            closeLater.add(node1);
            Throwable e = failure(node1.call("node2", "echo", "hi", T));
            assertTrue(e.getMessage().contains("is not trusted: certificate not signed by the cluster CA"), e.getMessage());
            node1.setPeer("node2", b);
            Throwable f = failure(node1.call("node2", "echo", "hi", T));
            assertTrue(f.getMessage().contains("certificate names node 'node3', not the expected 'node2'"), f.getMessage());
        }
    }

    @Test
    void garbageIsDroppedAndTheServerKeepsServing() throws Exception {
        byte[] junk = new byte[4096];
        new Random(1).nextBytes(junk);
        try (Socket s = new Socket(LOOPBACK, serverAddress.getPort())) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            out.write(junk);
            out.flush();
            InputStream in = s.getInputStream();
            byte[] buf = new byte[1024];
            int reads = 0;
            try {
                while (in.read(buf) >= 0 && reads++ < 100) {
                    // drain until the server closes
                }
            } catch (SocketException reset) {
                // closed with unread junk: a reset is as good as a close
            }
        }
        assertTrue(logged("not a TLS connection"), log.list.toString());
        PeerClient node1 = client(NodeIdentity.load(pki, "node1"));
        assertEquals("node1", node1.call("node2", "echo", "after", T).get(20, TimeUnit.SECONDS).get("from").asText());
    }

    @Test
    void aFloodOfHandshakesIsRefusedWhileARealPeerStillConnects() throws Exception {
        server.knownAddresses(List.of(new InetSocketAddress(LOOPBACK, 0)));
        List<Socket> flood = new ArrayList<>();
        try {
            InetAddress first = InetAddress.getByName("127.0.0.2");
            for (int i = 0; i < HandshakeLimits.PER_ADDRESS + 5; i++) {
                Socket s = new Socket(LOOPBACK, serverAddress.getPort(), first, 0);
                flood.add(s);
                s.setSoTimeout(i < HandshakeLimits.PER_ADDRESS ? 300 : 5000);
                assertEquals(i >= HandshakeLimits.PER_ADDRESS, closedByServer(s), "connection " + (i + 1) + " from one address, sending nothing");
            }
            assertEquals(5, server.refusedConnections());
            // From 16 more addresses, 16 each: the total of 256 fills, and the last 16 are refused for it.
            for (int a = 3; a <= 18; a++) {
                InetAddress from = InetAddress.getByName("127.0.0." + a);
                for (int i = 0; i < HandshakeLimits.PER_ADDRESS; i++) {
                    flood.add(new Socket(LOOPBACK, serverAddress.getPort(), from, 0));
                }
            }
            Socket last = flood.get(flood.size() - 1);
            last.setSoTimeout(5000);
            assertTrue(closedByServer(last), "over the total, a connection from a fresh address is refused");
            for (int i = 0; i < 50 && server.refusedConnections() < 5 + HandshakeLimits.PER_ADDRESS; i++) {
                Thread.sleep(100);
            }
            assertEquals(5 + HandshakeLimits.PER_ADDRESS, server.refusedConnections());

            PeerClient node1 = client(NodeIdentity.load(pki, "node1"));
            assertEquals("node1", node1.call("node2", "echo", "during", T).get(20, TimeUnit.SECONDS).get("from").asText(),
                    "node1, from its own known address, gets in while the flood holds the whole total");
        } finally {
            for (Socket s : flood) {
                s.close();
            }
        }
    }

    /** Whether the server closed {@code s} (EOF or reset) before its read timeout. */
    private static boolean closedByServer(Socket s) throws IOException {
        try {
            return s.getInputStream().read() < 0;
        } catch (java.net.SocketTimeoutException stillOpen) {
            return false;
        } catch (SocketException reset) {
            return true;
        }
    }

    @Test
    void versionMismatchIsReportedOnBothSides() throws Exception {
        PeerClient future = client(NodeIdentity.load(pki, "node1"), Wire.PROTOCOL + 1);
        Throwable e = failure(future.call("node2", "echo", "hi", T));
        assertTrue(e.getMessage().contains("node2 speaks peer protocol 1 but node1 speaks 2"), e.getMessage());
        assertTrue(e.getMessage().contains("same svcmove version"), e.getMessage());
        assertTrue(logged("node1 speaks peer protocol 2 but node2 speaks 1"), log.list.toString());
        assertEquals(0, handled.get());
    }

    @Test
    void unreachablePeerFailsFastAndSaysWhy() throws Exception {
        int closedPort;
        try (ServerSocket probe = new ServerSocket(0, 1, LOOPBACK)) {
            closedPort = probe.getLocalPort();
        }
        PeerClient node1 = new PeerClient(NodeIdentity.load(pki, "node1"),
                Map.of("node2", new InetSocketAddress(LOOPBACK, closedPort)), executor);
        closeLater.add(node1);
        long start = System.nanoTime();
        Throwable e = failure(node1.call("node2", "echo", "hi", T));
        assertEquals("node2 (127.0.0.1:" + closedPort + ") unreachable: connection refused (is its agent running?)", e.getMessage());
        assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(5));
        Throwable unknown = failure(node1.call("node9", "echo", "hi", T));
        assertTrue(unknown.getMessage().contains("unknown peer 'node9'"), unknown.getMessage());
    }

    @Test
    void sendFilesArrivesByteIdenticalWithProgress() throws Exception {
        Path images = Files.createDirectories(work.resolve("images"));
        Random r = new Random(42);
        byte[] big = new byte[50 * 1024 * 1024 + 123];
        r.nextBytes(big);
        Files.write(images.resolve("pages-1.img"), big);
        byte[] small = new byte[4321];
        r.nextBytes(small);
        Files.write(images.resolve("core-1.img"), small);
        Files.write(images.resolve("empty.img"), new byte[0]);
        Files.createDirectory(images.resolve("subdir"));
        long total = big.length + small.length;

        PeerClient node1 = client(NodeIdentity.load(pki, "node1"));
        var arrived = server.awaitTransfer("move-1");
        AtomicLong lastSent = new AtomicLong();
        AtomicLong lastTotal = new AtomicLong();
        TransferStats stats = node1.sendFiles("node2", "move-1", images, (sent, all) -> {
            assertTrue(sent >= lastSent.get(), "progress never goes back");
            lastSent.set(sent);
            lastTotal.set(all);
        }).get(60, TimeUnit.SECONDS);
        ReceivedTransfer got = arrived.get(20, TimeUnit.SECONDS);

        assertEquals(total, lastTotal.get());
        assertEquals(total, lastSent.get(), "progress reaches 100 %");
        assertEquals(3, stats.files());
        assertEquals(total, stats.bytes());
        assertEquals("node1", got.fromNode());
        assertEquals(List.of("core-1.img", "empty.img", "pages-1.img"), got.files());
        Path dir = work.resolve("incoming").resolve("move-1");
        assertEquals(dir, got.directory());
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)));
        for (String name : List.of("core-1.img", "empty.img", "pages-1.img")) {
            assertArrayEquals(sha256(images.resolve(name)), sha256(dir.resolve(name)), name);
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve(name))));
        }
        System.out.printf("sendFiles: %d bytes in %d ms, %.0f MB/s over TLS on loopback%n",
                stats.bytes(), stats.elapsed().toMillis(), stats.megabytesPerSecond());

        Throwable again = failure(node1.sendFiles("node2", "move-1", images, ProgressListener.NONE));
        assertTrue(again.getMessage().contains("already"), again.getMessage());
    }

    @Test
    void transferIntoAnExistingDirectoryIsRefused() throws Exception {
        Path images = Files.createDirectories(work.resolve("images"));
        Files.write(images.resolve("a.img"), new byte[] {1, 2, 3});
        Files.createDirectories(work.resolve("incoming").resolve("move-2"));
        PeerClient node1 = client(NodeIdentity.load(pki, "node1"));
        Throwable e = failure(node1.sendFiles("node2", "move-2", images, ProgressListener.NONE));
        assertInstanceOf(PeerCallException.class, e);
        assertTrue(e.getMessage().contains("already exists"), e.getMessage());
    }

    @Test
    void manyConcurrentCallsShareOneConnection() throws Exception {
        PeerClient node1 = client(NodeIdentity.load(pki, "node1"));
        List<CompletableFuture<JsonNode>> calls = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            calls.add(node1.call("node2", "echo", i, T));
        }
        for (int i = 0; i < calls.size(); i++) {
            assertEquals(i, calls.get(i).get(20, TimeUnit.SECONDS).get("echo").asInt());
        }
        assertEquals(200, handled.get());
    }

    @Test
    void clientWithoutCertificateIsRefused() throws Exception {
        SSLContext tls = SSLContext.getInstance("TLSv1.3");
        tls.init(null, new TrustManager[] {new ClusterTrust(new ClusterTrust.Rules(
                ClusterPki.loadCertificate(pki.resolve("ca.crt")), n -> true, ""))}, null);
        try (SSLSocket s = (SSLSocket) tls.getSocketFactory()
                .createSocket(LOOPBACK, serverAddress.getPort())) {
            s.setSoTimeout(10_000);
            s.startHandshake();
            assertThrows(IOException.class, () -> {
                s.getOutputStream().write(new byte[] {0, 0, 0, 1, 0});
                s.getOutputStream().flush();
                if (s.getInputStream().read() < 0) {
                    throw new EOFException("closed");
                }
            });
        }
        assertTrue(logged("no certificate presented"), log.list.toString());
        assertEquals(0, handled.get());
    }

    @Test
    void connectionLostMidTransferFailsTheReceiverAndRemovesPartialFiles() throws Exception {
        Path images = Files.createDirectories(work.resolve("images"));
        Files.write(images.resolve("pages-1.img"), new byte[20 * 1024 * 1024]);
        PeerClient node1 = client(NodeIdentity.load(pki, "node1"));
        var arrived = server.awaitTransfer("move-3");
        AtomicInteger chunks = new AtomicInteger();
        var sending = node1.sendFiles("node2", "move-3", images, (sent, total) -> {
            if (chunks.incrementAndGet() == 4) {
                node1.close();
            }
        });
        assertInstanceOf(PeerException.class, failure(sending));
        Throwable e = failure(arrived);
        assertTrue(e.getMessage().contains("closed before transfer move-3 ended"), e.getMessage());
        Path dir = work.resolve("incoming").resolve("move-3");
        for (int i = 0; i < 50 && Files.exists(dir); i++) {
            Thread.sleep(50);
        }
        assertTrue(Files.notExists(dir), "partial transfer removed");
    }

    private static byte[] sha256(Path file) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
            }
        }
        return md.digest();
    }
}
