package io.svcmove.migrator.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.svcmove.migrator.control.ControlMessage;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Options;

final class NodesCommand implements Command {
    @Override
    public String name() {
        return "nodes";
    }

    @Override
    public String usage() {
        return "[--json]";
    }

    @Override
    public String summary() {
        return "the cluster's nodes, reachable or not: kernel, CRIU, free memory, load, draining";
    }

    @Override
    public String details() {
        return """
                Asks every peer of this node's agent.toml over the agents' TLS channel (3 s each).
                A move needs the same CRIU on both nodes.

                Clock offsets: each peer's clock minus this node's, wall (CLOCK_REALTIME), monotonic
                and boot-time, from the fastest of 8 four-timestamp exchanges; the true offset lies
                within the ± shown (half that exchange's round trip). Monotonic and boot-time clocks
                count from each node's boot; a moved service keeps its own (its cell's time namespace).
                A move is refused when the wall clocks differ by more than [move] max_clock_offset_ms.
                """;
    }

    @Override
    public Options options() {
        return new Options();
    }

    @Override
    public int run(CommandLine line, Cli cli) {
        JsonNode r = cli.call(ControlMessage.request("nodes"));
        if (cli.json()) {
            cli.printJson(r);
            return 0;
        }
        String fmt = "%-12s %-22s %-10s %-28s %-8s %-9s %-9s %-5s %-9s %-12s %-14s %-14s %s%n";
        cli.out.printf(fmt, "NODE", "ADDRESS", "REACHABLE", "KERNEL", "CRIU", "SERVICES", "FREE_MEM", "LOAD", "DRAINING",
                "WALL", "MONOTONIC", "BOOTTIME", "±");
        for (JsonNode n : r.path("nodes")) {
            boolean up = n.path("reachable").asBoolean();
            JsonNode c = n.path("clock_offset");
            boolean here = n.path("node").asText().equals(r.path("node").asText());
            cli.out.printf(fmt, n.path("node").asText(), n.path("address").asText(), up ? "yes" : "NO",
                    up ? n.path("kernel").asText() : n.path("error").asText(), up ? n.path("criu").asText() : "-",
                    up ? n.path("services").asText() : "-",
                    up ? String.format("%.1fG", n.path("mem_available_bytes").asLong() / 1e9) : "-",
                    up ? n.path("load1").asText() : "-", up ? (n.path("draining").asBoolean() ? "yes" : "no") : "-",
                    here ? "(here)" : offset(c.path("realtime_ms")), offset(c.path("monotonic_ms")), offset(c.path("boottime_ms")),
                    c.isMissingNode() ? n.path("clock_error").asText("") : String.format("%.3f ms", c.path("uncertainty_ms").asDouble()));
        }
        return 0;
    }

    /** Milliseconds, or seconds once large (boot times differ by days). */
    private static String offset(JsonNode ms) {
        if (ms.isMissingNode()) {
            return "-";
        }
        double v = ms.asDouble();
        return Math.abs(v) >= 10_000 ? String.format("%+.3f s", v / 1000) : String.format("%+.3f ms", v);
    }
}
