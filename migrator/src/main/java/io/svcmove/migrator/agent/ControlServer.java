package io.svcmove.migrator.agent;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.channel.unix.PeerCredentials;
import io.netty.handler.codec.LineBasedFrameDecoder;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.string.StringDecoder;
import io.netty.util.AttributeKey;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.ScheduledFuture;
import io.svcmove.migrator.control.ControlException;
import io.svcmove.migrator.control.ControlMessage;
import io.svcmove.migrator.control.Outcome;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's CLI socket. Whoever reaches it can run code as root, so it accepts root only:
 * the socket file is 0600 in a 0700 directory, and each peer's credentials are checked too.
 * Served by Netty's epoll transport, whose domain sockets give the peer's pid as well as its uid
 * (the audit trail names the process that asked). Pipeline: root check, line framing, then the
 * dispatch, which runs each request on its own worker thread: requests block on ip, nft and CRIU.
 * Bounded: {@link #MAX_CONNECTIONS} connections at once (one request each, so as many workers at
 * most; a connection over that is answered UNAVAILABLE), a request line of {@link #MAX_REQUEST}
 * bytes, sent within {@link #REQUEST_WAIT_MILLIS} of connecting. A request once read may take as
 * long as it needs (a move, a drain).
 */
public final class ControlServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ControlServer.class);
    /** A request is one line of JSON; a run's command and environment fit well within this. */
    static final int MAX_REQUEST = 1 << 20;
    /** Far more than scripts and cluster managers run at once; each open request holds a worker thread. */
    static final int MAX_CONNECTIONS = 64;
    /** The CLI writes its request as soon as it connects. */
    static final long REQUEST_WAIT_MILLIS = 30_000;
    private static final AttributeKey<PeerCredentials> PEER = AttributeKey.valueOf("svcmove.cliPeer");

    /** Handles one request; may send events before returning the result. */
    @FunctionalInterface
    public interface Handler {
        JsonNode handle(JsonNode request, EventSink events) throws Exception;
    }

    @FunctionalInterface
    public interface EventSink {
        void send(JsonNode event);
    }

    private final Path path;
    private final Map<String, Handler> handlers;
    private final EpollEventLoopGroup loop;
    private final Channel server;
    private final ExecutorService workers = BoundedPool.of("control", MAX_CONNECTIONS, MAX_CONNECTIONS);
    private final AtomicInteger open = new AtomicInteger();
    private final long requestWaitMillis;

    public ControlServer(Path path, Map<String, Handler> handlers) throws IOException {
        this(path, handlers, REQUEST_WAIT_MILLIS);
    }

    /** With another wait for the request line: for tests. */
    ControlServer(Path path, Map<String, Handler> handlers, long requestWaitMillis) throws IOException {
        this.requestWaitMillis = requestWaitMillis;
        if (!Epoll.isAvailable()) {
            throw new IOException("the CLI socket needs Netty's native epoll transport, which did not load here ("
                    + Epoll.unavailabilityCause() + "): the agent runs on Linux x86_64 only");
        }
        this.path = path;
        this.handlers = Map.copyOf(handlers);
        Path dir = path.getParent();
        Files.createDirectories(dir);
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        Files.deleteIfExists(path);
        loop = new EpollEventLoopGroup(1, new DefaultThreadFactory("control-io", true));
        ChannelFuture bound = new ServerBootstrap().group(loop).channel(EpollServerDomainSocketChannel.class)
                .childHandler(new ChannelInitializer<EpollDomainSocketChannel>() {
                    @Override
                    protected void initChannel(EpollDomainSocketChannel ch) {
                        int n = open.incrementAndGet();
                        ch.closeFuture().addListener(c -> open.decrementAndGet());
                        if (n > MAX_CONNECTIONS) {
                            ch.config().setAutoRead(false);
                            log.warn("refused a CLI connection: {} are open already", MAX_CONNECTIONS);
                            ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                                @Override
                                public void channelActive(ChannelHandlerContext ctx) {
                                    send(ctx.channel(), ControlMessage.error(Outcome.UNAVAILABLE, "the agent already serves "
                                            + MAX_CONNECTIONS + " CLI connections: try again when some have finished"))
                                            .addListener(ChannelFutureListener.CLOSE);
                                }
                            });
                            return;
                        }
                        ch.pipeline().addLast(new RootOnly(), new LineBasedFrameDecoder(MAX_REQUEST, true, true),
                                new StringDecoder(StandardCharsets.UTF_8), new Dispatch());
                    }
                }).bind(new DomainSocketAddress(path.toFile())).awaitUninterruptibly();
        if (!bound.isSuccess()) {
            loop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            throw new IOException("cannot listen on the CLI socket " + path + ": " + bound.cause().getMessage(), bound.cause());
        }
        server = bound.channel();
        Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-------"));
        log.info("CLI socket listening at {} (root only)", path);
    }

    /** Lets root through, with its credentials kept for the audit; anyone else gets the refusal and the door. */
    private static final class RootOnly extends ChannelInboundHandlerAdapter {
        @Override
        public void channelActive(ChannelHandlerContext ctx) throws Exception {
            // getsockopt(SO_PEERCRED): a syscall that does not block.
            PeerCredentials peer = ((EpollDomainSocketChannel) ctx.channel()).peerCredentials();
            if (peer.uid() != 0) {
                ctx.channel().config().setAutoRead(false); // nothing it sends is read
                log.warn("refused a CLI connection from uid {} (pid {}): only root may use the agent", peer.uid(), peer.pid());
                send(ctx.channel(), ControlMessage.error(Outcome.NO_PERMISSION, "only root may use the svcmove agent (you are uid "
                        + peer.uid() + ")")).addListener(ChannelFutureListener.CLOSE);
                return;
            }
            ctx.channel().attr(PEER).set(peer);
            ctx.pipeline().remove(this);
            ctx.fireChannelActive();
        }

        /** Only a refused connection still has this handler: what it sent goes no further. */
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
        }
    }

    /** One request per connection: its line goes to a worker, which writes the events and the answer, then closes. */
    private final class Dispatch extends SimpleChannelInboundHandler<String> {
        private boolean taken;
        private ScheduledFuture<?> deadline;

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            deadline = ctx.executor().schedule(() -> {
                taken = true;
                ctx.channel().config().setAutoRead(false);
                send(ctx.channel(), ControlMessage.error(Outcome.USAGE, "no request within " + requestWaitMillis
                        + " ms of connecting")).addListener(ChannelFutureListener.CLOSE);
            }, requestWaitMillis, TimeUnit.MILLISECONDS);
            ctx.fireChannelActive();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (deadline != null) { // null: refused by RootOnly, never active here
                deadline.cancel(false);
            }
            ctx.fireChannelInactive();
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, String line) {
            if (taken) {
                return; // lines after the request, read before reading stopped
            }
            taken = true;
            deadline.cancel(false);
            Channel ch = ctx.channel();
            ch.config().setAutoRead(false);
            PeerCredentials peer = ch.attr(PEER).get();
            try {
                workers.execute(() -> {
                    // The CLI waits for its answer, so its /proc entry is still there to read.
                    Caller caller = Caller.Local.of(peer.pid(), peer.uid());
                    // The CLI may go away (Ctrl-C): the work goes on, only its progress has no reader.
                    send(ch, answer(line, handlers, event -> send(ch, ControlMessage.event(event)), caller))
                            .addListener(ChannelFutureListener.CLOSE);
                });
            } catch (RejectedExecutionException e) {
                send(ch, ControlMessage.error(Outcome.UNAVAILABLE, workers.isShutdown() ? "the agent is stopping"
                        : "the agent is busy with " + MAX_CONNECTIONS + " CLI requests: try again when some have finished"))
                        .addListener(ChannelFutureListener.CLOSE);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (cause instanceof TooLongFrameException) {
                if (taken) {
                    return; // past the request: what follows it is ignored anyway
                }
                taken = true;
                deadline.cancel(false);
                ctx.channel().config().setAutoRead(false);
                send(ctx.channel(), ControlMessage.error(Outcome.USAGE, "request longer than " + MAX_REQUEST + " bytes"))
                        .addListener(ChannelFutureListener.CLOSE);
            } else {
                log.debug("CLI connection ended: {}", cause.getMessage());
                ctx.close();
            }
        }
    }

    private static ChannelFuture send(Channel ch, JsonNode message) {
        byte[] line;
        try {
            line = (ControlMessage.JSON.writeValueAsString(message) + "\n").getBytes(StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("cannot write a CLI message as JSON", e);
        }
        return ch.writeAndFlush(Unpooled.wrappedBuffer(line));
    }

    /**
     * The answer to one request line from CALLER: a {@code result} or an {@code error}, whatever the
     * line holds. Requests that change something leave their audit line.
     */
    static JsonNode answer(String line, Map<String, Handler> handlers, EventSink sink, Caller caller) {
        String op = "?";
        try {
            JsonNode request = ControlMessage.JSON.readTree(line);
            if (request.path("v").asInt() != ControlMessage.VERSION) {
                return ControlMessage.error(Outcome.USAGE, "the CLI speaks protocol version " + request.path("v").asText("?")
                        + " but this agent speaks " + ControlMessage.VERSION + ": run the same svcmove version on both");
            }
            op = request.path("op").asText();
            Handler h = handlers.get(op);
            if (h == null) {
                return ControlMessage.error(Outcome.USAGE, "this agent does not know the request '" + op + "'");
            }
            return ControlMessage.result(Audit.request(op, request, caller, () -> h.handle(request, sink)));
        } catch (ControlException e) {
            log.info("{}: {}: {}", op, e.outcome(), e.getMessage());
            return ControlMessage.error(e.outcome(), e.getMessage());
        } catch (JsonProcessingException e) {
            // Only the request's own JSON: a handler's I/O error is a failure, not the CLI's mistake.
            log.warn("dropped a malformed CLI request: {}", e.getMessage());
            return ControlMessage.error(Outcome.USAGE, "malformed request: " + e.getMessage());
        } catch (Exception e) {
            log.error("{} failed unexpectedly", op, e);
            return ControlMessage.error(Outcome.INTERNAL, op + " failed unexpectedly: " + e + " (see the agent's log)");
        }
    }

    @Override
    public void close() throws IOException {
        server.close().awaitUninterruptibly();
        loop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        workers.shutdown();
        try {
            workers.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Files.deleteIfExists(path);
    }
}
