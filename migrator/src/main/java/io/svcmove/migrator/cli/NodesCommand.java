package io.svcmove.migrator.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.svcmove.migrator.control.ControlMessage;
import io.svcmove.migrator.pki.CertificateExpiry;
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
        return "the cluster's nodes, reachable or not: kernel, CRIU, free memory, load, draining, certificate expiry";
    }

    @Override
    public String details() {
        return """
                Asks every peer of this node's agent.toml over the agents' TLS channel (3 s each).
                A move needs the same CRIU on both nodes.

                Certificate: the day each node's certificate expires and the days left, marked RENEW
                within 30 days (each such node is also named on standard error, with how to renew)
                and EXPIRED after; an expired certificate is refused by every peer.

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
        String fmt = "%-12s %-22s %-10s %-28s %-8s %-9s %-9s %-5s %-9s %-21s %-12s %-14s %-14s %s%n";
        cli.out.printf(fmt, "NODE", "ADDRESS", "REACHABLE", "KERNEL", "CRIU", "SERVICES", "FREE_MEM", "LOAD", "DRAINING",
                "CERTIFICATE", "WALL", "MONOTONIC", "BOOTTIME", "±");
        for (JsonNode n : r.path("nodes")) {
            boolean up = n.path("reachable").asBoolean();
            JsonNode c = n.path("clock_offset");
            boolean here = n.path("node").asText().equals(r.path("node").asText());
            cli.out.printf(fmt, n.path("node").asText(), n.path("address").asText(), up ? "yes" : "NO",
                    up ? n.path("kernel").asText() : n.path("error").asText(), up ? n.path("criu").asText() : "-",
                    up ? n.path("services").asText() : "-",
                    up ? String.format("%.1fG", n.path("mem_available_bytes").asLong() / 1e9) : "-",
                    up ? n.path("load1").asText() : "-", up ? (n.path("draining").asBoolean() ? "yes" : "no") : "-",
                    up ? certificate(n) : "-",
                    here ? "(here)" : offset(c.path("realtime_ms")), offset(c.path("monotonic_ms")), offset(c.path("boottime_ms")),
                    c.isMissingNode() ? n.path("clock_error").asText("") : String.format("%.3f ms", c.path("uncertainty_ms").asDouble()));
        }
        for (JsonNode n : r.path("nodes")) {
            if (n.path("certificate_expires_soon").asBoolean()) {
                String node = n.path("node").asText();
                cli.err.println("svcmove nodes: the certificate of " + node + (n.path("certificate_days_left").asLong() < 0
                        ? " has expired" : " expires within " + CertificateExpiry.WARN_BEFORE.toDays() + " days")
                        + " (" + n.path("certificate_not_after").asText() + "): " + CertificateExpiry.renewal(node));
            }
        }
        return 0;
    }

    /** "2028-12-03 730d", marked RENEW within the warning's 30 days and EXPIRED after; "-" from an agent that does not say. */
    static String certificate(JsonNode n) {
        JsonNode notAfter = n.path("certificate_not_after");
        if (notAfter.isMissingNode()) {
            return "-";
        }
        String day = notAfter.asText().substring(0, Math.min(10, notAfter.asText().length()));
        long left = n.path("certificate_days_left").asLong();
        if (left < 0) {
            return day + " EXPIRED";
        }
        return day + " " + left + "d" + (n.path("certificate_expires_soon").asBoolean() ? " RENEW" : "");
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
