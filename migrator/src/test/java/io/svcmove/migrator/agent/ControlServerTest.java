package io.svcmove.migrator.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import io.svcmove.migrator.control.ControlMessage;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/** The CLI socket itself, over a real Unix socket: this JVM is both the agent and its CLI. */
class ControlServerTest {
    private static List<String> call(Path socket, String request) throws IOException {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            ch.write(ByteBuffer.wrap((request + "\n").getBytes(StandardCharsets.UTF_8)));
            BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(ch), StandardCharsets.UTF_8));
            List<String> lines = new ArrayList<>();
            for (String line; (line = in.readLine()) != null; ) {
                lines.add(line);
            }
            return lines;
        }
    }

    @Test
    void answersWithEventsThenTheResultAndAuditsTheCallingProcess(@TempDir Path dir) throws Exception {
        assumeTrue(new com.sun.security.auth.module.UnixSystem().getUid() == 0, "the CLI socket accepts root only: run as root");
        Logger audit = (Logger) LoggerFactory.getLogger("io.svcmove.audit");
        ListAppender<ILoggingEvent> lines = new ListAppender<>();
        lines.start();
        audit.addAppender(lines);
        audit.setLevel(Level.INFO);
        Path socket = dir.resolve("run/agent.sock");
        try (ControlServer server = new ControlServer(socket, Map.of("run", (req, events) -> {
            events.send(ControlMessage.JSON.createObjectNode().put("starting", req.path("name").asText()));
            return ControlMessage.JSON.createObjectNode().put("name", req.path("name").asText());
        }))) {
            assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(socket)));
            List<String> answer = call(socket, "{\"v\":1,\"op\":\"run\",\"name\":\"web\"}");
            assertEquals(List.of("{\"event\":{\"starting\":\"web\"}}", "{\"result\":{\"name\":\"web\"}}"), answer);

            String line = lines.list.get(0).getFormattedMessage();
            assertTrue(line.startsWith("AUDIT op=run service=web caller=cli pid=" + ProcessHandle.current().pid() + " uid=0 "), line);
            assertTrue(line.contains(" outcome=ok exit=0 "), line);

            assertEquals(2, call(socket, "{\"v\":1,\"op\":\"run\",\"name\":\"a\"}\n{\"v\":1,\"op\":\"run\",\"name\":\"b\"}").size(),
                    "one request per connection: a second line is not answered");
            assertEquals(2, lines.list.size(), "nor carried out");

            JsonNode unknown = ControlMessage.JSON.readTree(call(socket, "{\"v\":1,\"op\":\"nosuch\"}").get(0));
            assertEquals("USAGE", unknown.path("error").path("outcome").asText(), unknown.toString());
            assertEquals(2, lines.list.size(), "an unknown request leaves no audit line");
        } finally {
            audit.detachAppender(lines);
        }
        assertTrue(Files.notExists(socket), "the socket file goes with the server");
    }

    private static SocketChannel connect(Path socket) throws IOException {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        ch.connect(UnixDomainSocketAddress.of(socket));
        return ch;
    }

    private static JsonNode firstLine(SocketChannel ch) throws IOException {
        String line = new BufferedReader(new InputStreamReader(Channels.newInputStream(ch), StandardCharsets.UTF_8)).readLine();
        assertNotNull(line, "the agent closed without an answer");
        return ControlMessage.JSON.readTree(line);
    }

    @Test
    void connectionsOverTheLimitSilentOnesAndOverlongRequestsAreAnsweredAndClosed(@TempDir Path dir) throws Exception {
        assumeTrue(new com.sun.security.auth.module.UnixSystem().getUid() == 0, "the CLI socket accepts root only: run as root");
        Path socket = dir.resolve("run/agent.sock");
        try (ControlServer server = new ControlServer(socket, Map.of("status", (req, events) -> ControlMessage.JSON.createObjectNode()),
                3000)) {
            List<SocketChannel> idle = new ArrayList<>();
            try {
                for (int i = 0; i < ControlServer.MAX_CONNECTIONS; i++) {
                    idle.add(connect(socket));
                }
                try (SocketChannel extra = connect(socket)) {
                    JsonNode refused = firstLine(extra);
                    assertEquals("UNAVAILABLE", refused.path("error").path("outcome").asText(), refused.toString());
                    assertTrue(refused.toString().contains(ControlServer.MAX_CONNECTIONS + " CLI connections"), refused.toString());
                }
                JsonNode silent = firstLine(idle.get(0));
                assertEquals("USAGE", silent.path("error").path("outcome").asText(), silent.toString());
                assertTrue(silent.toString().contains("no request within 3000 ms"), silent.toString());
            } finally {
                for (SocketChannel c : idle) {
                    c.close();
                }
            }
            try (SocketChannel big = connect(socket)) {
                big.write(ByteBuffer.wrap(new byte[ControlServer.MAX_REQUEST + 1]));
                JsonNode tooLong = firstLine(big);
                assertTrue(tooLong.toString().contains("request longer than " + ControlServer.MAX_REQUEST), tooLong.toString());
            }
            assertEquals(List.of("{\"result\":{}}"), call(socket, "{\"v\":1,\"op\":\"status\"}"),
                    "with the silent connections gone, requests are served again");
        }
    }
}
