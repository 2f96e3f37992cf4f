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

final class CheckCommand implements Command {
    static final Option MODE = Option.builder().longOpt("mode").hasArg().argName("eager|lazy|precopy|auto")
            .desc("the mode the move would use: eager, lazy, precopy or auto (the default); a lazy one needs less memory there").build();
    static final Option FORCE = Option.builder().longOpt("force")
            .desc("check as for 'svcmove move --force': a wall-clock offset above [move] max_clock_offset_ms does not refuse").build();

    @Override
    public String name() {
        return "check";
    }

    @Override
    public String usage() {
        return "NAME NODE [--mode eager|lazy|precopy|auto] [--json]";
    }

    @Override
    public String summary() {
        return "would this move be made? every pre-flight check of moving NAME to NODE, run now, nothing frozen";
    }

    @Override
    public String details() {
        return """
                Runs the checks a move of NAME to NODE makes before its freeze, on the node that runs
                NAME (asked on another node, the check is forwarded there, as a move is) and on NODE,
                without freezing or building anything, and prints each: ok, would refuse or warning,
                with the reason and the fix. On the node that runs NAME: CRIU works,
                the two wall clocks agree within [move] max_clock_offset_ms, NAME runs and is not in
                another move, CRIU can dump its processes' uids, and the mode the move would take (a
                lazy move that either node cannot make: a warning, it would move eagerly). On NODE:
                CRIU works and is the same version, no service of that name or VIP there, NODE is not
                draining, every file NAME has open or mapped (its executables and libraries too, but
                not the logs it appends to) is there with the same size and, for an executable or
                library, the same ELF build-id, as CRIU checks at restore,
                its CPU offers every feature the source's CPUs offer, and
                it has the memory the service takes there (twice its size for an eager move, the
                images and the restored copy) plus 64 MiB.
                A move runs the same checks and refuses at the first that fails: a move this command
                passes is not refused for a reason it knew. The operator's pre-prepare hooks are not
                run here. Exit 0 when the move would be made, 3 when it would be refused, 5 for an
                unknown service or node. 'svcmove move NAME NODE --dry-run' is the same.

                Example:
                  svcmove check web node2
                """;
    }

    @Override
    public List<String> operands() {
        return List.of(SERVICE, NODE);
    }

    @Override
    public Options options() {
        return new Options().addOption(MODE).addOption(FORCE);
    }

    @Override
    public int run(CommandLine line, Cli cli) {
        if (line.getArgList().size() != 2) {
            throw new ControlException(Outcome.USAGE, "give the service and the node it would move to: svcmove check NAME NODE");
        }
        return check(line, cli, line.getArgList().get(0), line.getArgList().get(1));
    }

    /** The check of a move of NAME to NODE, printed; 0 when it would be made, 3 when refused. Also `move --dry-run`. */
    static int check(CommandLine line, Cli cli, String name, String node) {
        String mode = line.getOptionValue(MODE.getLongOpt(), "auto");
        if (!List.of("eager", "lazy", "precopy", "auto").contains(mode)) {
            throw new ControlException(Outcome.USAGE, "--mode is eager, lazy, precopy or auto, not '" + mode + "'");
        }
        ObjectNode req = ControlMessage.request("check").put("name", name).put("node", node).put("mode", mode)
                .put("force", line.hasOption(FORCE.getLongOpt()));
        JsonNode r = cli.call(req);
        boolean moves = r.path("would_move").asBoolean();
        if (cli.json()) {
            cli.printJson(r);
        } else {
            String fmt = "%-12s %-13s %-10s %s%n";
            cli.out.printf(fmt, "CHECK", "RESULT", "ON", "REASON AND FIX");
            for (JsonNode c : r.path("checks")) {
                String why = c.path("reason").asText() + (c.path("fix").asText().isEmpty() ? "" : ": " + c.path("fix").asText());
                cli.out.printf(fmt, c.path("check").asText(), c.path("result").asText(), c.path("node").asText(), why);
            }
            cli.out.printf("svcmove %s %s %s%n", name, node, moves ? "would be made" : "would be refused (exit 3)");
        }
        return moves ? 0 : Outcome.REFUSED.exitCode;
    }
}
