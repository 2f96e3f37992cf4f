package io.svcmove.migrator.peer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.util.concurrent.ScheduledFuture;
import io.svcmove.migrator.pki.NodeIdentity;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The calling side of the agents' channel: one TLS connection per peer, opened on first use and
 * reused until it closes. The server must prove it is exactly the node asked for. Futures complete
 * on the given executor, never on an event loop, so callers may chain blocking work onto them.
 *
 * <pre>{@code
 * PeerClient client = new PeerClient(identity, Map.of("node2", new InetSocketAddress(ip, 7301)), executor);
 * JsonNode answer = client.call("node2", "prepare", request, Duration.ofSeconds(5)).get();
 * client.sendFiles("node2", "move-42", imagesDir, (sent, total) -> ...).get();
 * }</pre>
 */
public final class PeerClient implements AutoCloseable {
    public static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
    /** Large enough to amortize per-frame costs, small enough to interleave with control calls. */
    static final int CHUNK_SIZE = 256 * 1024;
    /** How long a transfer waits for the peer to take more data before giving up. */
    static final Duration STALL_TIMEOUT = Duration.ofSeconds(60);
    static final Duration CONTROL_TIMEOUT = Duration.ofSeconds(30);
    private static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(1 << 20, 4 << 20);

    private static final Logger LOG = LoggerFactory.getLogger(PeerClient.class);
    private volatile NodeIdentity identity;
    private final Map<String, InetSocketAddress> peers;
    private final Executor executor;
    private final int protocol;
    private final EventLoopGroup group;
    private final Map<String, SslContext> tls = new ConcurrentHashMap<>();
    private final Map<String, CompletableFuture<PeerConnection>> connections = new ConcurrentHashMap<>();

    /**
     * @param peers where each peer listens; more can be added with {@link #setPeer}
     * @param executor completes futures and runs {@link #sendFiles} (one thread per transfer)
     */
    public PeerClient(NodeIdentity identity, Map<String, InetSocketAddress> peers, Executor executor) {
        this(identity, peers, executor, Wire.PROTOCOL);
    }

    /** With another protocol version: only for testing the version check. */
    PeerClient(NodeIdentity identity, Map<String, InetSocketAddress> peers, Executor executor, int protocol) {
        this.identity = identity;
        this.peers = new ConcurrentHashMap<>(peers);
        this.executor = executor;
        this.protocol = protocol;
        this.group = Transport.group(1, "peer-client");
    }

    /** Adds or moves a peer; an open connection to its old address is closed. */
    public void setPeer(String node, InetSocketAddress address) {
        InetSocketAddress old = peers.put(node, address);
        if (old != null && !old.equals(address)) {
            drop(node, "its address changed to " + PeerEvents.address(address));
        }
    }

    /** The certificate {@code node} proved itself with on the connection open to it now, if one is. */
    public Optional<X509Certificate> certificate(String node) {
        CompletableFuture<PeerConnection> c = connections.get(node);
        return c == null || !c.isDone() || c.isCompletedExceptionally() ? Optional.empty()
                : Optional.ofNullable(c.join().channel.attr(PeerEvents.PEER_CERT).get());
    }

    /** The peers as they are now (after reloads), by name. */
    public Map<String, InetSocketAddress> peers() {
        return Map.copyOf(peers);
    }

    /**
     * Takes a new identity and peer list (same node name) without a restart: the next connections
     * use them; an open connection to a node no longer listed, or whose certificate the new CA does
     * not verify, is closed, with a log line naming the node and why.
     */
    public void reload(NodeIdentity next, Map<String, InetSocketAddress> nextPeers) {
        if (!next.name().equals(identity.name())) {
            throw new IllegalArgumentException("this agent is " + identity.name() + ", not " + next.name());
        }
        identity = next;
        tls.clear();
        for (String node : List.copyOf(peers.keySet())) {
            if (!nextPeers.containsKey(node) && peers.remove(node) != null) {
                drop(node, "it is no longer in [[peers]]");
            }
        }
        nextPeers.forEach(this::setPeer);
        connections.forEach((node, f) -> f.thenAccept(conn -> {
            X509Certificate cert = conn.channel.attr(PeerEvents.PEER_CERT).get();
            try {
                new ClusterTrust(PeerTls.clientRules(next, node)).checkServer(cert);
            } catch (ClusterTrust.Refused e) {
                drop(node, "no longer accepted after reload: " + e.getMessage());
            }
        }));
    }

    /** Closes the connection to {@code node}, if there is one or one is being made, saying why to its callers and the log. */
    private void drop(String node, String why) {
        CompletableFuture<PeerConnection> c = connections.remove(node);
        if (c != null) {
            c.thenAccept(conn -> {
                PeerEvents.recordCause(conn.channel, new PeerException(why));
                LOG.warn("closing connection to {}: {}", conn.who(), why);
                conn.channel.close();
            });
        }
    }

    /**
     * Sends a request of {@code type} with {@code body} (anything Jackson can serialize) and
     * completes with the reply body. Fails with a {@link PeerException}: unreachable peer, TLS
     * refusal, version mismatch, no answer within {@code timeout} (connection setup included), or
     * a {@link PeerCallException} carrying the remote handler's error. A
     * {@link PeerNotReachedException} says the request was never sent.
     */
    public CompletableFuture<JsonNode> call(String node, String type, Object body, Duration timeout) {
        JsonNode json;
        try {
            json = Wire.JSON.valueToTree(body);
        } catch (IllegalArgumentException e) {
            return CompletableFuture.failedFuture(new PeerException("cannot encode '" + type + "' as JSON: " + e.getMessage(), e));
        }
        if (group.isShuttingDown()) {
            return CompletableFuture.failedFuture(new PeerException("this client is closed"));
        }
        long start = System.nanoTime();
        CompletableFuture<JsonNode> result = new CompletableFuture<>();
        ScheduledFuture<?> timer = group.next().schedule(() -> executor.execute(() -> result.completeExceptionally(
                new PeerException(node + " did not answer '" + type + "' within " + timeout.toMillis() + " ms"))),
                timeout.toNanos(), TimeUnit.NANOSECONDS);
        result.whenComplete((r, e) -> timer.cancel(false));
        connection(node).whenComplete((conn, err) -> {
            if (err != null) {
                Throwable e = unwrap(err);
                result.completeExceptionally(e instanceof PeerNotReachedException ? e : new PeerNotReachedException(e.getMessage(), e));
                return;
            }
            Duration left = timeout.minusNanos(System.nanoTime() - start);
            try {
                conn.call(type, json, left.isNegative() ? Duration.ZERO : left, timeout).whenComplete((r, e) -> {
                    if (e != null) {
                        result.completeExceptionally(unwrap(e));
                    } else {
                        result.complete(r);
                    }
                });
            } catch (RejectedExecutionException e) {
                result.completeExceptionally(new PeerException("this client is closed", e));
            }
        });
        return result;
    }

    /**
     * Streams every regular file directly in {@code dir} (not subdirectories, not symlinks) to
     * {@code node}, where the server's {@link TransferTarget} places them under {@code transferId}.
     * Reads and sends on an executor thread, never holding more than the channel's write buffer in
     * memory; completes once the receiver confirmed every file and size.
     */
    public CompletableFuture<TransferStats> sendFiles(String node, String transferId, Path dir, ProgressListener progress) {
        CompletableFuture<TransferStats> result = new CompletableFuture<>();
        try {
            executor.execute(() -> {
                try {
                    result.complete(send(node, transferId, dir, progress));
                } catch (IOException e) {
                    result.completeExceptionally(e);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    result.completeExceptionally(new PeerException("transfer " + transferId + " to " + node + " interrupted"));
                } catch (RuntimeException e) {
                    result.completeExceptionally(e);
                }
            });
        } catch (RejectedExecutionException e) {
            result.completeExceptionally(new PeerException("cannot start transfer " + transferId + ": executor refused it", e));
        }
        return result;
    }

    /** Closes every connection; calls in flight fail. */
    @Override
    public void close() {
        for (CompletableFuture<PeerConnection> c : connections.values()) {
            // A connection that failed (or is still being made) has nothing to close; getNow would throw its failure.
            if (c.isDone() && !c.isCompletedExceptionally()) {
                c.join().channel.close();
            }
        }
        connections.clear();
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly();
    }

    private TransferStats send(String node, String transferId, Path dir, ProgressListener progress)
            throws IOException, InterruptedException {
        long start = System.nanoTime();
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)).sorted().toList();
        }
        long[] sizes = new long[files.size()];
        long total = 0;
        ObjectNode begin = Wire.JSON.createObjectNode().put("transferId", transferId);
        ArrayNode list = begin.putArray("files");
        for (int i = 0; i < sizes.length; i++) {
            sizes[i] = Files.size(files.get(i));
            total += sizes[i];
            list.addObject().put("name", files.get(i).getFileName().toString()).put("size", sizes[i]);
        }
        PeerConnection conn = await(connection(node), CONNECT_TIMEOUT.plus(CONTROL_TIMEOUT), node + " did not come up");
        JsonNode started = await(conn.call(Wire.TRANSFER_BEGIN, begin, CONTROL_TIMEOUT, CONTROL_TIMEOUT), CONTROL_TIMEOUT, "no answer");
        int stream = started.path("stream").asInt();
        Channel ch = conn.channel;
        AtomicReference<Throwable> writeFailure = new AtomicReference<>();
        long sent = 0;
        for (int i = 0; i < sizes.length; i++) {
            Path file = files.get(i);
            try (FileChannel fc = FileChannel.open(file, StandardOpenOption.READ)) {
                for (long pos = 0; pos < sizes[i]; ) {
                    Throwable failed = writeFailure.get();
                    if (failed != null) {
                        throw conn.closeReason(failed);
                    }
                    conn.awaitWritable(STALL_TIMEOUT);
                    int n = (int) Math.min(CHUNK_SIZE, sizes[i] - pos);
                    ByteBuf buf = ch.alloc().directBuffer(n);
                    try {
                        while (buf.readableBytes() < n) {
                            if (buf.writeBytes(fc, pos + buf.readableBytes(), n - buf.readableBytes()) < 0) {
                                throw new PeerException(file + " shrank while being sent");
                            }
                        }
                    } catch (IOException | RuntimeException e) {
                        buf.release();
                        throw e;
                    }
                    ch.writeAndFlush(new PeerMessage.Chunk(stream, i, buf)).addListener(w -> {
                        if (!w.isSuccess()) {
                            writeFailure.compareAndSet(null, w.cause());
                        }
                    });
                    pos += n;
                    sent += n;
                    progress.progress(sent, total);
                }
                if (fc.size() != sizes[i]) {
                    throw new PeerException(file + " changed size while being sent");
                }
            }
        }
        ObjectNode end = Wire.JSON.createObjectNode().put("stream", stream);
        await(conn.call(Wire.TRANSFER_END, end, CONTROL_TIMEOUT, CONTROL_TIMEOUT), CONTROL_TIMEOUT, "no answer");
        progress.progress(total, total);
        return new TransferStats(files.size(), total, Duration.ofNanos(System.nanoTime() - start));
    }

    private CompletableFuture<PeerConnection> connection(String node) {
        InetSocketAddress address = peers.get(node);
        if (address == null) {
            return CompletableFuture.failedFuture(new PeerException("unknown peer '" + node
                    + "': it is not in this agent's peer list"));
        }
        CompletableFuture<PeerConnection> f = connections.computeIfAbsent(node, n -> open(n, address));
        if (f.isCompletedExceptionally()) {
            connections.remove(node, f);
        } else if (f.isDone() && !f.join().usable() && connections.remove(node, f)) {
            // Closed or closing, its close not yet seen here: a request on it would fail without having left.
            return connection(node);
        }
        return f;
    }

    private CompletableFuture<PeerConnection> open(String node, InetSocketAddress address) {
        NodeIdentity id = identity;
        PeerConnection conn = new PeerConnection(node, address, executor, id.certificate());
        SslContext ctx;
        try {
            ctx = tls.computeIfAbsent(node, n -> {
                try {
                    return PeerTls.client(id, n);
                } catch (SSLException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (UncheckedIOException e) {
            return CompletableFuture.failedFuture(new PeerException("cannot set up TLS for " + node + ": " + e.getCause().getMessage(), e));
        }
        Bootstrap b = new Bootstrap()
                .group(group)
                .channel(Transport.socket(group))
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) CONNECT_TIMEOUT.toMillis())
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
                .attr(ReplyDispatcher.CONNECTION, conn)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        conn.channel = ch;
                        PeerPipeline.init(ch, false, ctx, id.name(), protocol, ReplyDispatcher.INSTANCE);
                    }
                });
        CompletableFuture<PeerConnection> ready = conn.ready;
        ChannelFuture connecting = b.connect(address);
        conn.channel = connecting.channel();
        connecting.addListener(c -> {
            if (!c.isSuccess()) {
                PeerException e = unreachable(conn, c.cause());
                executor.execute(() -> ready.completeExceptionally(e));
            }
        });
        connecting.channel().closeFuture().addListener(c -> connections.remove(node, ready));
        ready.whenComplete((c, e) -> {
            if (e != null) {
                connections.remove(node, ready);
            }
        });
        return ready;
    }

    private static PeerNotReachedException unreachable(PeerConnection conn, Throwable c) {
        String why;
        if (c instanceof ConnectTimeoutException) {
            why = "no answer within " + CONNECT_TIMEOUT.toSeconds() + " s";
        } else if (c instanceof ConnectException) {
            String m = String.valueOf(c.getMessage()).toLowerCase(Locale.ROOT);
            why = m.contains("refused") ? "connection refused (is its agent running?)"
                    : m.contains("no route") ? "no route to host"
                    : m.contains("unreachable") ? "network unreachable" : c.getMessage();
        } else {
            why = String.valueOf(c.getMessage());
        }
        return new PeerNotReachedException(conn.who() + " unreachable: " + why, c);
    }

    private static Throwable unwrap(Throwable e) {
        return (e instanceof CompletionException || e instanceof ExecutionException) && e.getCause() != null
                ? e.getCause() : e;
    }

    private static <T> T await(Future<T> f, Duration timeout, String onTimeout) throws IOException, InterruptedException {
        try {
            return f.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (ExecutionException e) {
            Throwable c = unwrap(e);
            if (c instanceof IOException io) {
                throw io;
            }
            throw new PeerException(String.valueOf(c.getMessage()), c);
        } catch (TimeoutException e) {
            throw new PeerException(onTimeout + " within " + timeout.toSeconds() + " s");
        }
    }
}
