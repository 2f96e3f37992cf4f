package io.svcmove.migrator.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.svcmove.migrator.control.ControlException;
import io.svcmove.migrator.control.ControlMessage;
import io.svcmove.migrator.control.Outcome;
import java.util.List;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

final class RecoverCommand implements Command {
    @Override
    public String name() {
        return "recover";
    }

    @Override
    public String usage() {
        return "NAME [--on NODE] [--json]";
    }

    @Override
    public String summary() {
        return "bring a service of a lost node back from its last checkpoint, on this node or --on NODE";
    }

    @Override
    public String details() {
        return """
                For a service run with --checkpoint-every whose node is lost. The newest checkpoint
                kept by this node or a reachable peer is restored into a new cell with the service's
                VIP and MAC, and the node announces the VIP by gratuitous ARP. The service's memory is
                as of the checkpoint (the age is printed); the TCP connections it had then come back
                closed, so its clients reconnect to the same address and DNS name. It goes on being
                checkpointed, to another node.

                Refused (exit 3) while the service runs on a reachable node (move it instead), while
                its VIP still answers on the LAN (its node is not dead: the cell's duplicate-address
                probe), or when this node holds a dead record of it ('svcmove stop NAME' clears it and
                keeps the checkpoints). Exit 5 when no reachable node keeps a checkpoint of NAME.

                Example:
                  svcmove recover web --on node3
                """;
    }

    @Override
    public List<String> operands() {
        return List.of(SERVICE);
    }

    @Override
    public Options options() {
        return new Options().addOption(Option.builder().longOpt("on").hasArg().argName("NODE")
                .desc("recover on NODE (default: this node)").build());
    }

    @Override
    public int run(CommandLine line, Cli cli) {
        if (line.getArgList().size() != 1) {
            throw new ControlException(Outcome.USAGE, "give exactly one service NAME: svcmove recover " + usage());
        }
        ObjectNode req = ControlMessage.request("recover").put("name", line.getArgList().get(0));
        if (line.hasOption("on")) {
            req.put("node", line.getOptionValue("on"));
        }
        JsonNode r = cli.call(req);
        if (cli.json()) {
            cli.printJson(r);
        } else {
            cli.out.printf("%s recovered on %s at %s (pid %d) from its checkpoint on %s, taken %.1f s ago; %.1f MB, fetched in %.0f ms,"
                    + " restored in %d ms, %.0f ms in all%n", r.path("name").asText(), r.path("node").asText(), r.path("vip").asText(),
                    r.path("pid").asLong(), r.path("keeper").asText(), r.path("checkpoint_age_ms").asLong() / 1000.0,
                    r.path("checkpoint_bytes").asLong() / 1e6, r.path("fetch_ms").asDouble(), r.path("restore_ms").asLong(),
                    r.path("total_ms").asDouble());
            cli.out.println("its connections of the checkpoint are closed: clients reconnect");
        }
        return 0;
    }
}
