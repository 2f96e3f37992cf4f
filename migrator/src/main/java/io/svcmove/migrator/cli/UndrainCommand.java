package io.svcmove.migrator.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.svcmove.migrator.control.ControlException;
import io.svcmove.migrator.control.ControlMessage;
import io.svcmove.migrator.control.Outcome;
import java.util.List;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Options;

/** `svcmove undrain NODE`: NODE takes moves again. */
final class UndrainCommand implements Command {
    @Override
    public String name() {
        return "undrain";
    }

    @Override
    public String usage() {
        return "NODE [--json]";
    }

    @Override
    public String summary() {
        return "end 'svcmove drain NODE': NODE takes moves again";
    }

    @Override
    public String details() {
        return """
                Services do not move back by themselves: move them with 'svcmove NAME NODE'.

                Example:
                  svcmove undrain node1
                """;
    }

    @Override
    public List<String> operands() {
        return List.of(NODE);
    }

    @Override
    public Options options() {
        return new Options();
    }

    @Override
    public int run(CommandLine line, Cli cli) {
        if (line.getArgList().size() != 1) {
            throw new ControlException(Outcome.USAGE, "give the one node to undrain: svcmove undrain NODE");
        }
        JsonNode r = cli.call(ControlMessage.request("undrain").put("node", line.getArgList().get(0)));
        if (cli.json()) {
            cli.printJson(r);
        } else {
            cli.out.println(r.path("node").asText() + " takes moves again");
        }
        return 0;
    }
}
