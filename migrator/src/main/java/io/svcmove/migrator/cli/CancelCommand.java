package io.svcmove.migrator.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.svcmove.migrator.control.ControlException;
import io.svcmove.migrator.control.ControlMessage;
import io.svcmove.migrator.control.Outcome;
import java.util.List;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Options;

final class CancelCommand implements Command {
    @Override
    public String name() {
        return "cancel";
    }

    @Override
    public String usage() {
        return "NAME";
    }

    @Override
    public String summary() {
        return "cancel the move of a service under way, from any node: it rolls back, the service stays on its source";
    }

    @Override
    public String details() {
        return """
                Finds the move of NAME (on this node, or asking each peer) and has it stop at its next
                step and roll back as a failed step does: the service runs on its source as before,
                its clients' connections kept, and the move's own command exits 4.
                Refused (exit 3, with the reason) once the move may be past its point of no return:
                from the step where the destination restores it, only the destination's answer says
                where it runs, and the move finishes by itself. Exit 5 when no move of NAME is under
                way on a node that answered ('svcmove moves' lists them).
                This command returns once the move took the request; the move's own command says
                when the rollback is done.

                Example:
                  svcmove moves
                  svcmove cancel web
                """;
    }

    @Override
    public List<String> operands() {
        return List.of(SERVICE);
    }

    @Override
    public Options options() {
        return new Options();
    }

    @Override
    public int run(CommandLine line, Cli cli) {
        if (line.getArgList().size() != 1) {
            throw new ControlException(Outcome.USAGE, "give exactly one service NAME: svcmove cancel NAME");
        }
        JsonNode r = cli.call(ControlMessage.request("cancel").put("name", line.getArgList().get(0)));
        if (cli.json()) {
            cli.printJson(r);
        } else {
            cli.out.printf("the move of %s on %s (at %s) rolls back at its next step; %s stays on %s%n", r.path("service").asText(),
                    r.path("node").asText(), r.path("at").asText(), r.path("service").asText(), r.path("node").asText());
        }
        return 0;
    }
}
