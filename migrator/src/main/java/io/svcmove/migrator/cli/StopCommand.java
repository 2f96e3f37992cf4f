package io.svcmove.migrator.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.svcmove.migrator.control.ControlException;
import io.svcmove.migrator.control.ControlMessage;
import io.svcmove.migrator.control.Outcome;
import java.util.List;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Options;

final class StopCommand implements Command {
    @Override
    public String name() {
        return "stop";
    }

    @Override
    public String usage() {
        return "NAME";
    }

    @Override
    public String summary() {
        return "stop a service of this node and remove its cell, leaving no namespace, link or process";
    }

    @Override
    public String details() {
        return """
                Sends SIGTERM to the service's PID 1, and SIGKILL to whatever remains after a grace
                period, then deletes the cell's network namespace (and with it the VIP's macvlan) and
                the service's state. A service started with --dns loses its DNS name (A and TXT records)
                too; when DNS cannot be updated the stop still happens, with a warning.

                Example:
                  svcmove stop web
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
            throw new ControlException(Outcome.USAGE, "give exactly one service NAME: svcmove stop NAME");
        }
        JsonNode r = cli.call(ControlMessage.request("stop").put("name", line.getArgList().get(0)));
        if (cli.json()) {
            cli.printJson(r);
        } else {
            cli.out.printf("%s stopped; its cell %s is gone%n", r.path("name").asText(), r.path("netns").asText());
            if (r.hasNonNull("dns") && !r.has("dns_warning")) {
                cli.out.printf("%s removed from DNS%n", r.path("dns").asText());
            }
        }
        if (r.has("dns_warning")) {
            cli.err.println("svcmove stop: warning: " + r.path("dns_warning").asText());
        }
        return 0;
    }
}
