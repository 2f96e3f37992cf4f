package io.svcmove.migrator.agent;

import com.fasterxml.jackson.databind.JsonNode;
import io.svcmove.migrator.control.ControlException;
import io.svcmove.migrator.control.ControlMessage;
import io.svcmove.migrator.control.Outcome;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import jdk.net.ExtendedSocketOptions;
import jdk.net.UnixDomainPrincipal;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's CLI socket. Whoever reaches it can run code as root, so it accepts root only:
 * the socket file is 0600 in a 0700 directory, and each peer's credentials are checked too.
 * Requests run on their own threads: they block on ip, nft and CRIU.
 */
public final class ControlServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ControlServer.class);

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
    private final ServerSocketChannel server;
    private final ExecutorService workers = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "control");
        t.setDaemon(true);
        return t;
    });

    public ControlServer(Path path, Map<String, Handler> handlers) throws IOException {
        this.path = path;
        this.handlers = Map.copyOf(handlers);
        Path dir = path.getParent();
        Files.createDirectories(dir);
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        Files.deleteIfExists(path);
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(path));
        Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-------"));
        Thread acceptor = new Thread(this::acceptLoop, "control-accept");
        acceptor.setDaemon(true);
        acceptor.start();
        log.info("CLI socket listening at {} (root only)", path);
    }

    private void acceptLoop() {
        while (server.isOpen()) {
            try {
                SocketChannel ch = server.accept();
                workers.execute(() -> serve(ch));
            } catch (IOException e) {
                if (server.isOpen()) {
                    log.warn("CLI socket accept failed: {}", e.getMessage());
                }
            }
        }
    }

    private void serve(SocketChannel ch) {
        try (ch) {
            OutputStream out = Channels.newOutputStream(ch);
            EventSink sink = event -> write(out, ControlMessage.event(event));
            UnixDomainPrincipal peer = ch.getOption(ExtendedSocketOptions.SO_PEERCRED);
            String user = peer.user().getName();
            if (!"root".equals(user) && !"0".equals(user)) {
                log.warn("refused a CLI connection from user {}: only root may use the agent", user);
                write(out, ControlMessage.error(Outcome.NO_PERMISSION, "only root may use the svcmove agent (you are " + user + ")"));
                return;
            }
            BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(ch), StandardCharsets.UTF_8));
            String line = in.readLine();
            if (line == null) {
                return;
            }
            write(out, answer(line, sink));
        } catch (IOException e) {
            log.debug("CLI connection ended: {}", e.getMessage());
        }
    }

    private JsonNode answer(String line, EventSink sink) {
        return answer(line, handlers, sink);
    }

    /** The answer to one request line: a {@code result} or an {@code error}, whatever the line holds. */
    static JsonNode answer(String line, Map<String, Handler> handlers, EventSink sink) {
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
            return ControlMessage.result(h.handle(request, sink));
        } catch (ControlException e) {
            log.info("{}: {}: {}", op, e.outcome(), e.getMessage());
            return ControlMessage.error(e.outcome(), e.getMessage());
        } catch (IOException e) {
            log.warn("dropped a malformed CLI request: {}", e.getMessage());
            return ControlMessage.error(Outcome.USAGE, "malformed request: " + e.getMessage());
        } catch (Exception e) {
            log.error("{} failed unexpectedly", op, e);
            return ControlMessage.error(Outcome.INTERNAL, op + " failed unexpectedly: " + e + " (see the agent's log)");
        }
    }

    private static void write(OutputStream out, JsonNode message) {
        try {
            synchronized (out) {
                out.write((ControlMessage.JSON.writeValueAsString(message) + "\n").getBytes(StandardCharsets.UTF_8));
                out.flush();
            }
        } catch (IOException e) {
            // The CLI went away (Ctrl-C): the work goes on, only its progress has no reader.
            log.debug("CLI gone: {}", e.getMessage());
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        workers.shutdown();
        try {
            workers.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Files.deleteIfExists(path);
    }
}
