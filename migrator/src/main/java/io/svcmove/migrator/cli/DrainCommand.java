package io.svcmove.migrator.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.svcmove.migrator.control.ControlException;
import io.svcmove.migrator.control.ControlMessage;
import io.svcmove.migrator.control.Outcome;
import java.util.List;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

/** `svcmove drain NODE`: every service off NODE before maintenance; NODE takes no moves until undrain. */
final class DrainCommand implements Command {
    @Override
    public String name() {
        return "drain";
    }

    @Override
    public String usage() {
        return "NODE [--to NODE] [--parallel N] [--json]";
    }

    @Override
    public String summary() {
        return "move every service off NODE (live) and keep moves off it until 'svcmove undrain NODE'";
    }

    @Override
    public String details() {
        return """
                Marks NODE draining first: from then on it refuses every move onto it (exit 3 for such a
                move), across agent restarts, until 'svcmove undrain NODE'. Then each of NODE's services
                moves live, with its clients' connections, to the reachable node that is not draining
                and has the most free memory left (after the services already placed there), discounted
                by its load per CPU, as the agents report them in 'svcmove nodes'; or all to --to NODE.
                N moves are asked at once (default 2); NODE's agent runs its moves one at a time.
                Ends with a table: each service, where it went, and how its move ended.

                Exit: 0 every service moved; 1 some did not (the table says why; they still run on NODE);
                3 no node can take them; 5 unknown node; 69 NODE's agent does not answer.

                Example:
                  svcmove drain node1 && apt-get upgrade ... && svcmove undrain node1
                """;
    }

    @Override
    public List<String> operands() {
        return List.of(NODE);
    }

    @Override
    public Options options() {
        return new Options()
                .addOption(Option.builder().longOpt("to").hasArg().argName("NODE").desc("move every service to NODE").build())
                .addOption(Option.builder().longOpt("parallel").hasArg().argName("N").desc("moves asked at once (default 2)").build());
    }

    @Override
    public int run(CommandLine line, Cli cli) {
        if (line.getArgList().size() != 1) {
            throw new ControlException(Outcome.USAGE, "give the one node to drain: svcmove drain " + usage());
        }
        ObjectNode req = ControlMessage.request("drain").put("node", line.getArgList().get(0));
        if (line.hasOption("to")) {
            req.put("to", line.getOptionValue("to"));
        }
        if (line.hasOption("parallel")) {
            try {
                req.put("parallel", Integer.parseInt(line.getOptionValue("parallel")));
            } catch (NumberFormatException e) {
                throw new ControlException(Outcome.USAGE, "--parallel takes a number of moves, not '" + line.getOptionValue("parallel") + "'");
            }
            if (req.path("parallel").asInt() < 1) {
                throw new ControlException(Outcome.USAGE, "--parallel must be 1 or more");
            }
        }
        ArrayNode events = ControlMessage.JSON.createArrayNode();
        JsonNode r = cli.call(req, e -> {
            events.add(e);
            if (!cli.json()) {
                progress(cli, e);
            }
        });
        boolean allMoved = r.path("failed").asInt() == 0;
        if (cli.json()) {
            ObjectNode out = ((ObjectNode) r.deepCopy()).put("ok", allMoved);
            out.set("events", events);
            cli.printJson(out);
        } else {
            table(cli, r);
        }
        return allMoved ? 0 : Outcome.FAILED.exitCode;
    }

    private static void progress(Cli cli, JsonNode e) {
        if (e.has("draining")) {
            cli.out.printf("%s is draining: it refuses moves onto it; %d services to move%n", e.get("draining").asText(),
                    e.path("services").asInt());
        } else if ("moving".equals(e.path("state").asText())) {
            cli.out.printf("  moving %s to %s%n", e.get("service").asText(), e.get("to").asText());
        }
        cli.out.flush();
    }

    private static void table(Cli cli, JsonNode r) {
        String fmt = "%-16s %-10s %-10s %-12s %10s  %s%n";
        cli.out.println();
        cli.out.printf(fmt, "SERVICE", "FROM", "TO", "RESULT", "FREEZE_MS", "MESSAGE");
        for (JsonNode s : r.path("services")) {
            cli.out.printf(fmt, s.path("service").asText(), s.path("from").asText(), s.path("to").asText(),
                    s.path("outcome").asText(), s.path("ok").asBoolean() ? String.format("%.1f", s.path("freeze_ms").asDouble()) : "-",
                    s.path("message").asText(""));
        }
        cli.out.printf("%n%d moved, %d not; %s stays draining until 'svcmove undrain %s'%n", r.path("moved").asInt(),
                r.path("failed").asInt(), r.path("node").asText(), r.path("node").asText());
    }
}
