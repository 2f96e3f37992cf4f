package io.svcmove.migrator.peer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** The gate in front of TLS, on Netty's EmbeddedChannel: what it refuses, what it lets through, and when slots free. */
class AdmissionGateTest {
    private static final InetAddress FLOODER = address("198.18.0.3");
    private static final InetAddress PEER = address("198.18.0.12");

    private final AtomicLong now = new AtomicLong();
    private final HandshakeLimits limits = new HandshakeLimits(4, 6, now::get);
    private final Map<String, Channel> live = new ConcurrentHashMap<>();
    private final List<Channel> busy = new ArrayList<>();
    private final ListAppender<ILoggingEvent> log = new ListAppender<>();

    /** An accepted connection from {@code from}, whose "pipeline" is only a stand-in for TLS and the version check. */
    private final class Connection extends EmbeddedChannel {
        private final InetSocketAddress remote;

        Connection(InetAddress from, int idleSeconds) {
            super(false, false);
            remote = new InetSocketAddress(from, 40000);
            pipeline().addLast("admission", new AdmissionGate(limits, live, busy::contains, ch -> {
                ch.pipeline().addLast("tls", new ChannelInboundHandlerAdapter());
                ch.pipeline().addLast("version", new ChannelInboundHandlerAdapter());
            }, idleSeconds));
            try {
                register();
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        }

        Connection(InetAddress from) {
            this(from, AdmissionGate.IDLE_SECONDS);
        }

        @Override
        protected SocketAddress remoteAddress0() {
            return remote;
        }

        boolean admitted() {
            return isOpen() && pipeline().get("tls") != null;
        }

        void ready(String node) {
            pipeline().fireUserEventTriggered(new PeerEvents.Ready(node, Wire.PROTOCOL));
            runPendingTasks();
        }
    }

    private static InetAddress address(String ip) {
        try {
            return InetAddress.getByName(ip);
        } catch (java.net.UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    @BeforeEach
    void watchLog() {
        log.start();
        ((Logger) LoggerFactory.getLogger(HandshakeLimits.class)).addAppender(log);
    }

    @AfterEach
    void stopWatching() {
        ((Logger) LoggerFactory.getLogger(HandshakeLimits.class)).detachAppender(log);
    }

    @Test
    void overThePerAddressLimitIsClosedAtOnceWithNoTlsWhileAnotherAddressStillGetsIn() {
        List<Connection> flood = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            flood.add(new Connection(FLOODER));
        }
        assertTrue(flood.stream().allMatch(Connection::admitted), "up to the limit, connections get the pipeline");
        for (int i = 0; i < 3; i++) {
            Connection refused = new Connection(FLOODER);
            assertFalse(refused.isOpen(), "the 5th and later connection from one address is closed at once");
            assertNull(refused.pipeline().get("tls"), "no TLS engine is made for a refused connection");
        }
        assertEquals(3, limits.refused());

        Connection peer = new Connection(PEER);
        assertTrue(peer.admitted(), "a peer from another address still connects while the flooder is at its limit");

        flood.get(0).close();
        assertTrue(new Connection(FLOODER).admitted(), "a closed connection gives its slot back");
    }

    @Test
    void theTotalLimitHoldsAcrossAddresses() {
        for (int i = 0; i < 4; i++) {
            assertTrue(new Connection(FLOODER).admitted());
        }
        assertTrue(new Connection(PEER).admitted());
        assertTrue(new Connection(PEER).admitted());
        assertFalse(new Connection(address("198.18.0.13")).isOpen(), "6 unauthenticated in all: the 7th is refused, from anywhere");
        assertEquals(6, limits.unauthenticated());

        limits.known(Set.of(address("198.18.0.11")));
        List<Connection> peer = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            peer.add(new Connection(address("198.18.0.11")));
        }
        assertTrue(peer.subList(0, 4).stream().allMatch(Connection::admitted), "a known peer's address gets in with the total full");
        assertFalse(peer.get(4).isOpen(), "but only up to the per-address limit");
        assertEquals(6, limits.unauthenticated(), "nor does it count in the total");
        peer.forEach(Connection::close);
        assertFalse(new Connection(address("198.18.0.13")).isOpen(), "its slots freed none of the total's");
    }

    @Test
    void aConnectionPastTheVersionCheckNoLongerCounts() {
        List<Connection> peers = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            Connection c = new Connection(PEER);
            c.ready("node2");
            peers.add(c);
        }
        assertEquals(0, limits.unauthenticated(), "authenticated connections hold no handshake slot");
        assertTrue(new Connection(PEER).admitted());
        peers.forEach(Connection::close);
        assertEquals(1, limits.unauthenticated(), "closing an authenticated connection does not give a slot back twice");
    }

    @Test
    void refusalsAreLoggedOncePerIntervalWithTheirCount() {
        for (int i = 0; i < 4; i++) {
            new Connection(FLOODER);
        }
        for (int i = 0; i < 50; i++) {
            new Connection(FLOODER);
        }
        assertEquals(1, log.list.size(), "50 refusals within the interval: one message");
        now.addAndGet(HandshakeLimits.LOG_EVERY_NANOS);
        new Connection(FLOODER);
        assertEquals(2, log.list.size());
        String second = log.list.get(1).getFormattedMessage();
        assertTrue(second.startsWith("refused 50 connection(s)"), second);
        assertTrue(second.contains("4 from 198.18.0.3 are still in their TLS handshake"), second);
        assertTrue(second.contains("51 refused since start"), second);
    }

    @Test
    void anIdleConnectionIsClosedUnlessItIsItsNodesNewestOrBusy() throws Exception {
        Connection older = new Connection(PEER, 1);
        older.ready("node2");
        Connection busyOne = new Connection(PEER, 1);
        busyOne.ready("node2");
        busy.add(busyOne);
        Connection newest = new Connection(PEER, 1);
        newest.ready("node2");
        assertNotNull(newest.pipeline().get("idle"));

        Thread.sleep(1200);
        for (Connection c : List.of(older, busyOne, newest)) {
            c.runScheduledPendingTasks();
        }
        assertFalse(older.isOpen(), "an idle connection beside a newer one of the same node is closed");
        assertTrue(busyOne.isOpen(), "one with a request or transfer in progress stays");
        assertTrue(newest.isOpen(), "the node's live channel stays, however long it idles");
        assertEquals(newest, live.get("node2"));
        newest.close();
        assertNull(live.get("node2"), "a closed channel is no node's live channel");
    }
}
