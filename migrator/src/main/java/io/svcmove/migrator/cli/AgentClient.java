package io.svcmove.migrator.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.svcmove.migrator.control.ControlException;
import io.svcmove.migrator.control.ControlMessage;
import io.svcmove.migrator.control.Outcome;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.function.Consumer;

/** The CLI's side of the agent's socket: sends one request, relays events, returns the result. */
final class AgentClient {
    private final Path socket;

    AgentClient(Path socket) {
        this.socket = socket;
    }

    JsonNode call(JsonNode request, Consumer<JsonNode> events) {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            try {
                ch.connect(UnixDomainSocketAddress.of(socket));
            } catch (IOException e) {
                throw new ControlException(Outcome.UNAVAILABLE, "no svcmove agent answers at " + socket + " (" + e.getMessage()
                        + "): start it with 'systemctl start svcmove-agent' or 'svcmove agent', or name this node's"
                        + " configuration with --config");
            }
            ch.write(ByteBuffer.wrap((ControlMessage.JSON.writeValueAsString(request) + "\n").getBytes(StandardCharsets.UTF_8)));
            BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(ch), StandardCharsets.UTF_8));
            for (String line; (line = in.readLine()) != null; ) {
                JsonNode m = ControlMessage.JSON.readTree(line);
                if (m.has("event")) {
                    events.accept(m.get("event"));
                } else if (m.has("result")) {
                    return m.get("result");
                } else if (m.has("error")) {
                    JsonNode err = m.get("error");
                    throw new ControlException(Outcome.valueOf(err.path("outcome").asText("INTERNAL")), err.path("message").asText());
                }
            }
            throw new ControlException(Outcome.UNAVAILABLE, "the agent at " + socket + " closed the connection without an answer: see its log");
        } catch (IOException e) {
            throw new ControlException(Outcome.UNAVAILABLE, "lost the agent at " + socket + ": " + e.getMessage());
        }
    }
}
