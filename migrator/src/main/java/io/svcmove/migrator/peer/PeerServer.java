package io.svcmove.migrator.peer;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.svcmove.migrator.pki.NodeIdentity;
import java.io.IOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The listening side of the agents' channel: TCP with mutual TLS 1.3, accepting only peers whose
 * certificate the cluster CA signed and whose name {@code isPeer} accepts. Requests run on the
 * given executor, which should be bounded (a peer's requests are refused with an error once it is
 * full); incoming file transfers land where the {@link TransferTarget} says. Connections still in
 * their handshake are limited per address and in all ({@link AdmissionGate}).
 *
 * <pre>{@code
 * PeerServer server = new PeerServer(identity, Set.of("node1", "node3")::contains, executor);
 * server.registerHandler("prepare", (peer, body) -> prepare(peer, body));
 * server.acceptTransfers((peer, id) -> Path.of("/dev/shm/svcmove", id));
 * server.bind(new InetSocketAddress(7301));
 * }</pre>
 */
public final class PeerServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(PeerServer.class);
    private final String name;
    private final ClusterTrust trust;
    /** Swapped on reload: each new connection takes the context of the moment. */
    private volatile SslContext tls;
    /** Every accepted connection, for reload to look at the certificates of those still open. */
    private final ChannelGroup open = new DefaultChannelGroup("peer-connections", GlobalEventExecutor.INSTANCE);
    private final TransferReceiver receiver;
    private final RequestDispatcher dispatcher;
    private final EventLoopGroup group;
    private final int protocol;
    private final HandshakeLimits limits = new HandshakeLimits();
    private final Map<String, Channel> live = new ConcurrentHashMap<>();
    private volatile Channel listener;

    /**
     * @param isPeer which node names may connect (e.g. {@code Set.of(...)::contains})
     * @param executor runs handlers and file writes; it should have at least two threads
     */
    public PeerServer(NodeIdentity identity, Predicate<String> isPeer, Executor executor) throws SSLException {
        this(identity, isPeer, executor, Wire.PROTOCOL);
    }

    /** With another protocol version: only for testing the version check. */
    PeerServer(NodeIdentity identity, Predicate<String> isPeer, Executor executor, int protocol) throws SSLException {
        this.name = identity.name();
        this.trust = new ClusterTrust(PeerTls.serverRules(identity, isPeer));
        this.tls = PeerTls.server(identity, trust);
        this.receiver = new TransferReceiver(executor);
        this.dispatcher = new RequestDispatcher(executor, receiver);
        this.protocol = protocol;
        this.group = Transport.group(2, "peer-server");
    }

    /** Handles requests of {@code type}; one handler per type, registered before or after {@link #bind}. */
    public PeerServer registerHandler(String type, RequestHandler handler) {
        dispatcher.register(type, handler);
        return this;
    }

    /** Accepts {@link PeerClient#sendFiles} transfers into the directories {@code target} chooses. */
    public PeerServer acceptTransfers(TransferTarget target) {
        receiver.target(target);
        return this;
    }

    /**
     * Completes when transfer {@code transferId} has fully arrived (every size checked), or fails
     * with the reason it did not (its partial files are then removed). May be called before the
     * transfer starts or after it ended; the outcome is kept until someone asks for it.
     */
    public CompletableFuture<ReceivedTransfer> awaitTransfer(String transferId) {
        return receiver.await(transferId);
    }

    /** Starts listening; returns the bound address (useful with port 0). */
    public InetSocketAddress bind(InetSocketAddress address) throws IOException {
        if (listener != null) {
            throw new IllegalStateException("already listening on " + listener.localAddress());
        }
        ServerBootstrap b = new ServerBootstrap()
                .group(group)
                .channel(Transport.server(group))
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        open.add(ch);
                        ch.pipeline().addLast("admission", new AdmissionGate(limits, live, dispatcher::busy,
                                c -> PeerPipeline.init((SocketChannel) c, true, tls, name, protocol, dispatcher),
                                AdmissionGate.IDLE_SECONDS));
                    }
                });
        ChannelFuture f = b.bind(address).awaitUninterruptibly();
        if (!f.isSuccess()) {
            Throwable c = f.cause();
            String why = c instanceof BindException || String.valueOf(c.getMessage()).contains("in use")
                    ? "address already in use (is another agent running?)" : c.getMessage();
            throw new PeerException("cannot listen on " + PeerEvents.address(address) + ": " + why, c);
        }
        listener = f.channel();
        InetSocketAddress bound = (InetSocketAddress) listener.localAddress();
        LOG.info("{} listening for peers on {}", name, PeerEvents.address(bound));
        return bound;
    }

    /**
     * Takes a new key, certificate, CA and peer list (same node name) without a restart: new
     * connections and handshakes under way are checked by them at once, and each open connection
     * whose certificate they no longer accept is closed, with a log line naming the node and why.
     */
    public void reload(NodeIdentity identity, Predicate<String> isPeer) throws SSLException {
        if (!identity.name().equals(name)) {
            throw new IllegalArgumentException("this agent is " + name + ", not " + identity.name());
        }
        ClusterTrust.Rules rules = PeerTls.serverRules(identity, isPeer);
        // Built first: a key the TLS layer refuses fails the reload before anything changed.
        SslContext next = PeerTls.server(identity, trust);
        trust.update(rules);
        tls = next;
        for (Channel ch : open) {
            X509Certificate cert = ch.attr(PeerEvents.PEER_CERT).get();
            if (cert == null) {
                continue;
            }
            try {
                trust.checkClient(cert);
            } catch (ClusterTrust.Refused e) {
                PeerEvents.recordCause(ch, new PeerException("no longer accepted: " + e.getMessage(), e));
                LOG.warn("closing connection with {}: no longer accepted after reload: {}", PeerEvents.describe(ch), e.getMessage());
                ch.close();
            }
        }
    }

    /**
     * Where this node's peers listen, which is where they connect from (one address per node):
     * those addresses are held only to the per-address limit of unauthenticated connections, not
     * to the total that a flood from many addresses can fill. Given again on a reload.
     */
    public void knownAddresses(Collection<InetSocketAddress> peers) {
        limits.known(peers.stream().map(InetSocketAddress::getAddress).filter(Objects::nonNull).collect(Collectors.toSet()));
    }

    /** Connections refused since start because too many were in their handshake ({@link HandshakeLimits}). */
    public long refusedConnections() {
        return limits.refused();
    }

    /** Stops listening and closes every connection. */
    @Override
    public void close() {
        Channel l = listener;
        if (l != null) {
            l.close().awaitUninterruptibly();
        }
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly();
    }
}
