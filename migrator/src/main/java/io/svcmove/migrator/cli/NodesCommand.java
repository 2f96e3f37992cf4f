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
        String fmt = "%-12s %-22s %-10s %-28s %-8s %-9s %-9s %-5s %s%n";
        cli.out.printf(fmt, "NODE", "ADDRESS", "REACHABLE", "KERNEL", "CRIU", "SERVICES", "FREE_MEM", "LOAD", "DRAINING");
        for (JsonNode n : r.path("nodes")) {
            boolean up = n.path("reachable").asBoolean();
            cli.out.printf(fmt, n.path("node").asText(), n.path("address").asText(), up ? "yes" : "NO",
                    up ? n.path("kernel").asText() : n.path("error").asText(), up ? n.path("criu").asText() : "-",
                    up ? n.path("services").asText() : "-",
                    up ? String.format("%.1fG", n.path("mem_available_bytes").asLong() / 1e9) : "-",
                    up ? n.path("load1").asText() : "-", up ? (n.path("draining").asBoolean() ? "yes" : "no") : "-");
        }
        return 0;
    }
}
