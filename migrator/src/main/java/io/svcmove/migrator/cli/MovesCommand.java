package io.svcmove.migrator.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.svcmove.migrator.control.ControlMessage;
import java.util.ArrayList;
import java.util.List;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Options;

final class MovesCommand implements Command {
    @Override
    public String name() {
        return "moves";
    }

    @Override
    public String usage() {
        return "[--json]";
    }

    @Override
    public String summary() {
        return "the moves under way on the cluster: phase, step, progress, source, destination, mode, age";
    }

    @Override
    public String details() {
        return """
                Asks every node (this one, and each peer of its agent.toml over the agents' TLS
                channel, 3 s each) for the moves from it that are under way. A move is listed from
                its start until it ends, whatever the outcome; a peer that does not answer is named
                below the table as unreachable (its moves are then unknown), and the command still
                exits 0.

                PHASE and STEP are the move's own words, as in a move's progress and --json output:
                the phase (prepare, freeze, transfer, restore, announce, drain, commit) and the step
                it is at (e.g. freeze/dump, commit/pages while a lazy move's pages are fetched);
                "starting" before the first step, "rollback" while a failed move is undone (STEP:
                the last step undone), "unresolved" for a move whose outcome its node could not
                learn: the agents settle it when they can talk again ('svcmove status' on both).
                STAGE is what the source recorded (prepared, frozen, restoring, arrived, ...): from
                arrived (handed-over for a lazy move) on, the move can only go forward.
                PROGRESS: the images sent to the destination, once the transfer began.
                AGE: since the move was asked, by the source's clock.

                Example: watch -n1 svcmove moves
                """;
    }

    @Override
    public Options options() {
        return new Options();
    }

    @Override
    public int run(CommandLine line, Cli cli) {
        JsonNode r = cli.call(ControlMessage.request("moves"));
        if (cli.json()) {
            cli.printJson(r);
            return 0;
        }
        List<JsonNode> moves = new ArrayList<>();
        List<String> unreachable = new ArrayList<>();
        for (JsonNode n : r.path("nodes")) {
            if (n.path("reachable").asBoolean()) {
                n.path("moves").forEach(moves::add);
            } else {
                unreachable.add(n.path("node").asText() + " (" + n.path("error").asText() + ")");
            }
        }
        if (moves.isEmpty()) {
            cli.out.println("no moves under way" + (unreachable.isEmpty() ? "" : " on the nodes that answered"));
        } else {
            String fmt = "%-16s %-12s %-12s %-6s %-10s %-14s %-12s %-22s %s%n";
            cli.out.printf(fmt, "SERVICE", "FROM", "TO", "MODE", "PHASE", "STEP", "STAGE", "PROGRESS", "AGE");
            for (JsonNode m : moves) {
                cli.out.printf(fmt, m.path("service").asText(), m.path("from").asText(), m.path("to").asText(), m.path("mode").asText(),
                        m.path("phase").asText(), orDash(m.path("step")), orDash(m.path("stage")), progress(m), age(m.path("age_ms")));
            }
        }
        unreachable.forEach(u -> cli.out.println("unreachable: " + u + ": its moves are unknown"));
        return 0;
    }

    private static String orDash(JsonNode n) {
        return n.isTextual() ? n.asText() : "-";
    }

    /** The images sent so far: "42% 11.0/26.2 MB", or "-" before the transfer. */
    static String progress(JsonNode move) {
        JsonNode total = move.path("total_bytes");
        if (!total.isNumber()) {
            return "-";
        }
        long sent = move.path("sent_bytes").asLong();
        long t = total.asLong();
        return String.format("%d%% %.1f/%.1f MB", t == 0 ? 100 : sent * 100 / t, sent / 1e6, t / 1e6);
    }

    /** "850ms", "12s", "3m04s", "2h05m"; "-" when unknown (a move found only in its record). */
    static String age(JsonNode ms) {
        if (!ms.isNumber()) {
            return "-";
        }
        long v = ms.asLong();
        if (v < 1000) {
            return v + "ms";
        }
        long s = v / 1000;
        if (s < 60) {
            return s + "s";
        }
        return s < 3600 ? String.format("%dm%02ds", s / 60, s % 60) : String.format("%dh%02dm", s / 3600, s / 60 % 60);
    }
}
