package io.svcmove.migrator.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.svcmove.migrator.config.AgentConfig;
import io.svcmove.migrator.control.ControlException;
import io.svcmove.migrator.control.ControlMessage;
import io.svcmove.migrator.control.Outcome;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.function.Consumer;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;

/** What every command shares: where the agent is, how to print, --json. */
final class Cli {
    static final Option CONFIG = Option.builder().longOpt("config").hasArg().argName("FILE")
            .desc("this node's agent configuration (default: $SVCMOVE_CONFIG, else " + AgentConfig.DEFAULT_PATH + ")").build();
    static final Option JSON = Option.builder().longOpt("json").desc("print one JSON object instead of text, for scripts").build();

    final PrintStream out;
    final PrintStream err;
    private final CommandLine line;

    Cli(CommandLine line, PrintStream out, PrintStream err) {
        this.line = line;
        this.out = out;
        this.err = err;
    }

    boolean json() {
        return line.hasOption(JSON.getLongOpt());
    }

    Path configFile() {
        return AgentConfig.locate(line.getOptionValue(CONFIG.getLongOpt()));
    }

    /** Sends a request to this node's agent; events go to the given consumer. */
    JsonNode call(ObjectNode request, Consumer<JsonNode> events) {
        String socket;
        try {
            socket = AgentConfig.socketFor(configFile());
        } catch (AgentConfig.ConfigException e) {
            throw new ControlException(Outcome.USAGE, e.getMessage());
        }
        return new AgentClient(Path.of(socket)).call(request, events);
    }

    JsonNode call(ObjectNode request) {
        return call(request, e -> {});
    }

    void printJson(JsonNode n) {
        try {
            out.println(ControlMessage.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(n));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
