package io.svcmove.migrator.peer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.svcmove.migrator.pki.ClusterPki;
import io.svcmove.migrator.pki.NodeIdentity;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * What the channel does over a certificate's life, with real TLS on 127.0.0.1: an expired one is
 * refused saying whose, since when and how to renew; an open connection ends when the certificate
 * does; a reload closes the connections its new peer list or CA no longer accepts, and only those.
 */
class CertificateLifetimeTest {
    private static final Duration T = Duration.ofSeconds(10);
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    private static final List<Class<?>> LOGGERS = List.of(PeerAuthHandler.class, PeerServer.class, PeerClient.class);
    @TempDir Path pki;
    @TempDir Path otherPki;

    private final ExecutorService executor = Executors.newCachedThreadPool();
    private final ListAppender<ILoggingEvent> log = new ListAppender<>();
    private final List<AutoCloseable> closeLater = new ArrayList<>();
    private PeerServer server;
    private InetSocketAddress address;

    @BeforeEach
    void startNode2() throws IOException {
        ClusterPki.createCa(pki);
        for (String node : List.of("node1", "node2", "node3")) {
            ClusterPki.issueNode(pki, node, List.of(LOOPBACK));
        }
        log.start();
        LOGGERS.forEach(c -> ((Logger) LoggerFactory.getLogger(c)).addAppender(log));
        server = new PeerServer(NodeIdentity.load(pki, "node2"), Set.of("node1", "node3")::contains, executor);
        server.registerHandler("echo", (peer, body) -> Map.of("from", peer));
        address = server.bind(new InetSocketAddress(LOOPBACK, 0));
    }

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : closeLater) {
            c.close();
        }
        server.close();
        executor.shutdownNow();
        LOGGERS.forEach(c -> ((Logger) LoggerFactory.getLogger(c)).detachAppender(log));
    }

    @Test
    void expiredCertificateIsRefusedNamingTheNodeWhenAndHowToRenew() throws Exception {
        Instant past = Instant.now().minus(Duration.ofDays(2));
        NodeIdentity expired = reissue("node1", past);
        Throwable e = failure(client(expired).call("node2", "echo", "hi", T));
        assertTrue(e.getMessage().contains("refused this node's certificate, which expired on " + expired.certificate().getNotAfter()
                .toInstant()), e.getMessage());
        assertTrue(e.getMessage().contains("svcmove cert node node1"), e.getMessage());
        assertTrue(logged("the certificate of node1 expired on " + expired.certificate().getNotAfter().toInstant()
                + ": renew it where the cluster CA is"), messages());
    }

    @Test
    void openConnectionClosesWhenThePeersCertificateExpires() throws Exception {
        NodeIdentity shortLived = reissue("node1", Instant.now().plusSeconds(4));
        PeerClient node1 = client(shortLived);
        assertEquals("node1", node1.call("node2", "echo", "hi", T).get(20, TimeUnit.SECONDS).path("from").asText());
        assertTrue(logged("the certificate of node1 expires on"), "the warning at connection: " + messages());
        assertTrue(waitFor(() -> logged("closing connection with node1") && logged("expired on"), Duration.ofSeconds(15)),
                messages());
        Throwable e = failure(node1.call("node2", "echo", "again", T));
        assertTrue(e.getMessage().contains("expired on"), "a new connection is refused too: " + e.getMessage());
    }

    @Test
    void reloadClosesTheConnectionOfARemovedPeerAndRefusesItAfterwards() throws Exception {
        PeerClient node1 = client(NodeIdentity.load(pki, "node1"));
        PeerClient node3 = client(NodeIdentity.load(pki, "node3"));
        node1.call("node2", "echo", "hi", T).get(20, TimeUnit.SECONDS);
        node3.call("node2", "echo", "hi", T).get(20, TimeUnit.SECONDS);
        assertTrue(node3.certificate("node2").isPresent(), "node3's connection is open");

        server.reload(NodeIdentity.load(pki, "node2"), Set.of("node1")::contains);

        assertTrue(logged("closing connection with node3"), messages());
        assertTrue(waitFor(() -> node3.certificate("node2").isEmpty(), T), "node3's open connection was closed");
        Throwable e = failure(node3.call("node2", "echo", "again", T));
        assertTrue(e.getMessage().contains("refused this node's certificate"), e.getMessage());
        assertTrue(logged("certificate names node 'node3', which is not in the [[peers]] of node2"), messages());
        assertEquals("node1", node1.call("node2", "echo", "still", T).get(20, TimeUnit.SECONDS).path("from").asText());
        assertFalse(log.list.stream().anyMatch(l -> l.getFormattedMessage().contains("closing connection with node1")),
                "node1's connection stayed: " + messages());
    }

    @Test
    void reloadWithAnotherCaClosesEveryConnectionItNoLongerVerifies() throws Exception {
        PeerClient node1 = client(NodeIdentity.load(pki, "node1"));
        node1.call("node2", "echo", "hi", T).get(20, TimeUnit.SECONDS);
        ClusterPki.createCa(otherPki);
        ClusterPki.issueNode(otherPki, "node2", List.of(LOOPBACK));

        server.reload(NodeIdentity.load(otherPki, "node2"), Set.of("node1")::contains);

        assertTrue(logged("closing connection with node1 (127.0.0.1"), messages());
        assertTrue(logged("certificate not signed by the cluster CA"), messages());
    }

    @Test
    void clientReloadClosesTheConnectionToAPeerNoLongerListed() throws Exception {
        PeerClient node1 = client(NodeIdentity.load(pki, "node1"));
        node1.call("node2", "echo", "hi", T).get(20, TimeUnit.SECONDS);

        node1.reload(NodeIdentity.load(pki, "node1"), Map.of());

        assertTrue(logged("closing connection to node2 (127.0.0.1:" + address.getPort() + "): it is no longer in [[peers]]"),
                messages());
        assertTrue(node1.peers().isEmpty());
        assertTrue(failure(node1.call("node2", "echo", "again", T)).getMessage().contains("unknown peer 'node2'"));
    }

    @Test
    void reloadUnderAnotherNodeNameIsRefused() throws Exception {
        assertThrows(IllegalArgumentException.class, () -> server.reload(NodeIdentity.load(pki, "node3"), n -> true));
    }

    /** NODE's certificate issued again, valid until {@code notAfter}, loaded without the start's validity check. */
    private NodeIdentity reissue(String node, Instant notAfter) throws IOException {
        Files.delete(pki.resolve(node + ".key"));
        Files.delete(pki.resolve(node + ".crt"));
        ClusterPki.Issued issued = ClusterPki.issueNode(pki, node, List.of(LOOPBACK), notAfter);
        return new NodeIdentity(node, ClusterPki.loadPrivateKey(issued.key()), issued.cert(),
                ClusterPki.loadCertificate(pki.resolve(ClusterPki.CA_CERT)));
    }

    private PeerClient client(NodeIdentity id) {
        PeerClient c = new PeerClient(id, Map.of("node2", address), executor);
        closeLater.add(c);
        return c;
    }

    private static Throwable failure(Future<?> f) {
        ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(20, TimeUnit.SECONDS));
        return e.getCause();
    }

    private interface Check {
        boolean holds() throws Exception;
    }

    private static boolean waitFor(Check check, Duration within) throws Exception {
        long end = System.nanoTime() + within.toNanos();
        while (System.nanoTime() < end) {
            if (check.holds()) {
                return true;
            }
            Thread.sleep(50);
        }
        return check.holds();
    }

    private boolean logged(String text) throws Exception {
        return waitFor(() -> log.list.stream().anyMatch(e -> e.getFormattedMessage().contains(text)), Duration.ofSeconds(3));
    }

    private String messages() {
        return log.list.stream().map(ILoggingEvent::getFormattedMessage).toList().toString();
    }
}
