package io.svcmove.migrator.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.svcmove.migrator.control.ControlException;
import io.svcmove.migrator.control.ControlMessage;
import io.svcmove.migrator.control.Outcome;
import java.time.Duration;
import java.util.List;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Options;

final class StatusCommand implements Command {
    @Override
    public String name() {
        return "status";
    }

    @Override
    public String usage() {
        return "[NAME] [--json]";
    }

    @Override
    public String summary() {
        return "list this node's services: name, VIP, MAC, node, state, PIDs, uptime";
    }

    @Override
    public String details() {
        return """
                States: running (its PID 1 lives in its cell), dead (the cell's process is gone: the
                agent keeps the record so the loss is seen; 'svcmove stop NAME' clears it), failed (a
                lazy move whose source failed before every page arrived; the reason is shown).
                A service being moved from this node is marked "moving to NODE" (--json: move, with
                the move's id, destination and stage); an agent restarted mid-move finishes it.
                With NAME: that service only, exit 5 when this node does not hold it (for scripts and
                the OCF resource agent's monitor).
                CHECKPOINT: for a service run with --checkpoint-every, the age of its last checkpoint
                and the node keeping it ('-' until the first one since the agent started). Below the
                table, the checkpoints this node keeps for services of other nodes, with their ages.
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
        JsonNode r = cli.call(ControlMessage.request("status"));
        if (!line.getArgList().isEmpty()) {
            String name = line.getArgList().get(0);
            JsonNode one = null;
            for (JsonNode s : r.path("services")) {
                one = s.path("name").asText().equals(name) ? s : one;
            }
            if (one == null) {
                throw new ControlException(Outcome.NOT_FOUND, "no service named " + name + " on " + r.path("node").asText());
            }
            if (cli.json()) {
                cli.printJson(one);
                return 0;
            }
            ((ObjectNode) r).putArray("services").add(one);
        }
        if (cli.json()) {
            cli.printJson(r);
            return 0;
        }
        JsonNode services = r.path("services");
        if (services.isEmpty()) {
            cli.out.println("no services on " + r.path("node").asText());
        } else {
            String fmt = "%-16s %-18s %-17s %-10s %-8s %-20s %-8s %s%n";
            cli.out.printf(fmt, "NAME", "VIP", "MAC", "NODE", "STATE", "PIDS", "UPTIME", "CHECKPOINT");
            for (JsonNode s : services) {
                StringBuilder pids = new StringBuilder();
                s.path("pids").forEach(p -> pids.append(pids.length() == 0 ? "" : ",").append(p.asText()));
                JsonNode c = s.path("checkpoint");
                String checkpoint = !s.has("checkpoint_every_s") ? "" : c.isMissingNode() ? "-"
                        : uptime(c.path("age_s").asLong()) + " ago on " + c.path("keeper").asText();
                cli.out.printf(fmt, s.path("name").asText(), s.path("vip").asText(), s.path("mac").asText(), s.path("node").asText(),
                        s.path("state").asText() + (s.has("move") ? " (moving to " + s.path("move").path("to").asText() + ")" : ""),
                        pids.length() == 0 ? "-" : pids, uptime(s.path("uptime_seconds").asLong()), checkpoint);
            }
        }
        for (JsonNode k : r.path("checkpoints_kept")) {
            cli.out.printf("keeps the checkpoint of %s (from %s): %s old, %.1f MB%n", k.path("name").asText(), k.path("from").asText(),
                    uptime(k.path("age_s").asLong()), k.path("bytes").asLong() / 1e6);
        }
        return 0;
    }

    private static String uptime(long seconds) {
        Duration d = Duration.ofSeconds(seconds);
        return d.toDays() > 0 ? String.format("%dd%02dh", d.toDays(), d.toHoursPart())
                : d.toHours() > 0 ? String.format("%dh%02dm", d.toHours(), d.toMinutesPart())
                : String.format("%dm%02ds", d.toMinutes(), d.toSecondsPart());
    }
}
