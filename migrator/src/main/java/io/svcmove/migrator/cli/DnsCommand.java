package io.svcmove.migrator.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.svcmove.dns.DnsException;
import io.svcmove.dns.DnsUpdater;
import io.svcmove.migrator.config.AgentConfig;
import io.svcmove.migrator.control.ControlException;
import io.svcmove.migrator.control.ControlMessage;
import io.svcmove.migrator.control.Outcome;
import io.svcmove.migrator.dns.ServiceNames;
import java.util.List;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

final class DnsCommand implements Command {
    @Override
    public String name() {
        return "dns";
    }

    @Override
    public String usage() {
        return "sync [--dry-run] | check";
    }

    @Override
    public String summary() {
        return "make DNS match the services the cluster runs (sync), or test this node's [dns] settings (check)";
    }

    @Override
    public String details() {
        return """
                sync: the agent asks every node for its services, reads the names svcmove owns in the
                zone (a zone transfer signed with the TSIG key), adds the names services need and
                removes those svcmove owns that no service needs. A name without svcmove's TXT record
                ("svcmove-owner=SERVICE") is never touched. Every node must answer, or nothing changes.
                With --dry-run it only says what it would do. Exits 1 when any change failed.

                check: from this node, sends a change-free update signed with the key (proving key,
                zone and update policy) and a signed zone transfer, and says what is wrong.

                Examples:
                  svcmove dns sync --dry-run
                  svcmove dns check
                """;
    }

    @Override
    public List<String> operands() {
        return List.of("sync|check");
    }

    @Override
    public Options options() {
        return new Options().addOption(Option.builder().longOpt("dry-run").desc("sync: say what would change, change nothing").build());
    }

    @Override
    public int run(CommandLine line, Cli cli) throws Exception {
        List<String> args = line.getArgList();
        if (args.size() != 1 || !(args.get(0).equals("sync") || args.get(0).equals("check"))) {
            throw new ControlException(Outcome.USAGE, "give 'sync' or 'check': svcmove dns " + usage());
        }
        return args.get(0).equals("sync") ? sync(line, cli) : check(cli);
    }

    private int sync(CommandLine line, Cli cli) {
        JsonNode r = cli.call(ControlMessage.request("dns.sync").put("dry_run", line.hasOption("dry-run")));
        boolean failed = !r.path("errors").isEmpty();
        if (cli.json()) {
            cli.printJson(r);
            return failed ? Outcome.FAILED.exitCode : 0;
        }
        boolean dry = r.path("dry_run").asBoolean();
        for (JsonNode a : r.path("removed")) {
            cli.out.printf("%s %s (owner %s, %s): no service needs it%n", dry ? "would remove" : "removed", a.path("name").asText(),
                    a.path("owner").asText(), a.path("addresses").toString());
        }
        for (JsonNode a : r.path("added")) {
            cli.out.printf("%s %s -> %s (service %s on %s)%n", dry ? "would add" : "added", a.path("name").asText(),
                    a.path("address").asText(), a.path("owner").asText(), a.path("node").asText());
        }
        for (JsonNode e : r.path("errors")) {
            cli.err.printf("svcmove dns: %s: %s%n", e.path("name").asText(), e.path("error").asText());
        }
        cli.out.printf("zone %s: %d added, %d removed, %d unchanged, %d failed%s%n", r.path("zone").asText(),
                r.path("added").size(), r.path("removed").size(), r.path("unchanged").size(), r.path("errors").size(),
                dry ? " (dry run: nothing changed)" : "");
        return failed ? Outcome.FAILED.exitCode : 0;
    }

    private int check(Cli cli) {
        AgentConfig config;
        try {
            config = AgentConfig.load(cli.configFile());
        } catch (AgentConfig.ConfigException e) {
            throw new ControlException(Outcome.USAGE, e.getMessage());
        }
        DnsUpdater dns = new ServiceNames(config).updater();
        int owned;
        try {
            dns.check();
            owned = dns.owned().size();
        } catch (DnsException e) {
            throw new ControlException(e.reason() == DnsException.Cause.UNREACHABLE ? Outcome.UNAVAILABLE : Outcome.REFUSED,
                    e.getMessage());
        }
        if (cli.json()) {
            ObjectNode n = ControlMessage.JSON.createObjectNode().put("ok", true).put("server", config.dns().server())
                    .put("zone", dns.zone().toString()).put("owned", owned);
            cli.printJson(n);
        } else {
            cli.out.printf("DNS ok: %s takes signed updates and zone transfers of %s; svcmove owns %d name(s) there%n",
                    config.dns().server(), dns.zone(), owned);
        }
        return 0;
    }
}
