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

final class RunCommand implements Command {
    @Override
    public String name() {
        return "run";
    }

    @Override
    public String usage() {
        return "NAME --vip ADDR/PREFIX [--vip ADDR6/PREFIX] [--dns HOST[.ZONE]] [--dev IFACE] [--gateway ADDR] [--env K=V]... [--cwd DIR] [--checkpoint-every DURATION] [--carry FILE]... -- COMMAND [ARGS...]";
    }

    @Override
    public String summary() {
        return "start a service in a new cell on this node, reachable only at its VIP";
    }

    @Override
    public String details() {
        return """
                The service gets its own network, PID, UTS and IPC namespaces (its cell). Its only
                address is the VIP, on a macvlan whose MAC is derived from the VIP, so every socket it
                opens uses the VIP and the VIP can later move with it to another node. The VIP must lie
                in the subnet of IFACE and must not answer on the LAN already. An IPv6 VIP must lie in
                one of IFACE's global IPv6 prefixes; it is added without duplicate-address detection
                (run probes the LAN for it once, with a neighbour solicitation), and moves announce it
                with unsolicited neighbour advertisements as they announce IPv4 with gratuitous ARP.
                A cell without an IPv6 VIP has IPv6 turned off. With two --vip (one of each family)
                the cell is dual-stack, its MAC that of the IPv4 VIP. The service's first
                process is PID 1 of its cell; its output goes to the node's log directory
                (<log_dir>/NAME.log). Returns once the command runs.

                With --dns, the agent then adds an A record HOST.ZONE -> VIP (an AAAA record for an
                IPv6 VIP; both for a dual-stack service; TTL from [dns] ttl, 60 s)
                and a TXT record "svcmove-owner=NAME" to the zone of its [dns] section, by an RFC 2136
                update signed with the TSIG key; 'svcmove stop' removes both. A name that exists
                without that TXT record is never overwritten. Moves never touch DNS: the VIP moves.
                A DNS failure only warns unless [dns] required = true, which fails the start and
                undoes it.

                With --checkpoint-every (e.g. 30s, 5m), the agent checkpoints the service that often:
                  CRIU dumps it leaving it running (frozen only for the dump; its TCP connections are
                  left out and not touched) and the images go to another node, the first reachable of
                  its agent's [[peers]], which keeps the last one. When this node is lost,
                  'svcmove recover NAME' restores the last checkpoint elsewhere; 'svcmove status'
                  shows each checkpoint's age.

                With --carry FILE, a file the service writes, closes and reads back later (a pidfile,
                a small state file) moves with it: read while it is frozen, written at the same path
                (owner and mode kept) where it arrives, removed from the node it left. What the
                service holds open moves anyway; its logs stay each node's own.

                Examples:
                  svcmove run web --vip 198.18.0.100/24 --dns web -- nginx -c /etc/nginx/web.conf -g 'daemon off;'
                  svcmove run apache --vip 198.18.0.101/24 --carry /run/apache2/apache2.pid -- apache2ctl -D FOREGROUND
                  svcmove run www --vip 198.18.0.102/24 --vip 2001:db8::102/64 --dns www -- nginx -g 'daemon off;'
                """;
    }

    @Override
    public Options options() {
        return new Options()
                .addOption(Option.builder().longOpt("vip").hasArg().argName("ADDR/PREFIX").required()
                        .desc("the service's address and prefix length, e.g. 198.18.0.100/24 or 2001:db8::100/64; twice for a"
                                + " dual-stack service (one IPv4, one IPv6 VIP)").build())
                .addOption(Option.builder().longOpt("dns").hasArg().argName("HOST[.ZONE]")
                        .desc("give the service this DNS name in the zone of the agent's [dns] section").build())
                .addOption(Option.builder().longOpt("dev").hasArg().argName("IFACE")
                        .desc("the node's interface the VIP lives on (default: the agent's 'interface', eth0)").build())
                .addOption(Option.builder().longOpt("gateway").hasArg().argName("ADDR")
                        .desc("default route of the cell, for services that reach beyond the subnet").build())
                .addOption(Option.builder().longOpt("env").hasArg().argName("K=V")
                        .desc("an environment variable of the service (repeatable); nothing else is inherited but PATH").build())
                .addOption(Option.builder().longOpt("checkpoint-every").hasArg().argName("DURATION")
                        .desc("checkpoint the service this often (e.g. 30s, 5m, 1h; at least 1s), kept on another node,"
                                + " for 'svcmove recover'").build())
                .addOption(Option.builder().longOpt("carry").hasArg().argName("FILE")
                        .desc("a file the service writes, closes and reads back, such as its pidfile: it moves with the service"
                                + " (repeatable; absolute path, up to 1 MiB)").build())
                .addOption(Option.builder().longOpt("cwd").hasArg().argName("DIR").desc("working directory (default /)").build());
    }

    @Override
    public int run(CommandLine line, Cli cli) {
        List<String> args = line.getArgList();
        if (args.size() < 2) {
            throw new ControlException(Outcome.USAGE, "give the service's NAME and, after --, its COMMAND: svcmove run " + usage());
        }
        ObjectNode req = ControlMessage.request("run").put("name", args.get(0)).put("vip", String.join(",", line.getOptionValues("vip")));
        putIfSet(req, "dns", line.getOptionValue("dns"));
        putIfSet(req, "dev", line.getOptionValue("dev"));
        putIfSet(req, "gateway", line.getOptionValue("gateway"));
        req.put("cwd", line.getOptionValue("cwd", "/"));
        if (line.hasOption("checkpoint-every")) {
            req.put("checkpoint_every_s", seconds(line.getOptionValue("checkpoint-every")));
        }
        for (String f : line.getOptionValues("carry") == null ? new String[0] : line.getOptionValues("carry")) {
            req.withArray("carry").add(f);
        }
        args.subList(1, args.size()).forEach(req.putArray("command")::add);
        ObjectNode env = req.putObject("env");
        for (String kv : line.getOptionValues("env") == null ? new String[0] : line.getOptionValues("env")) {
            int eq = kv.indexOf('=');
            if (eq <= 0) {
                throw new ControlException(Outcome.USAGE, "--env takes K=V, not '" + kv + "'");
            }
            env.put(kv.substring(0, eq), kv.substring(eq + 1));
        }
        JsonNode s = cli.call(req);
        if (cli.json()) {
            cli.printJson(s);
        } else {
            cli.out.printf("%s runs on %s at %s (MAC %s, pid %s); output in %s%n", s.path("name").asText(), s.path("node").asText(),
                    s.path("vip").asText(), s.path("mac").asText(), s.path("pid").asText(), s.path("log").asText());
            if (s.hasNonNull("dns") && !s.has("dns_warning")) {
                cli.out.printf("%s resolves to %s%n", s.path("dns").asText(), s.path("vip").asText().replaceAll("/\\d+", "").replace(",", ", "));
            }
        }
        if (s.has("dns_warning")) {
            cli.err.println("svcmove run: warning: " + s.path("dns_warning").asText());
        }
        return 0;
    }

    /** "30s", "5m", "1h" or plain seconds. */
    static long seconds(String duration) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d{1,7})([smh]?)").matcher(duration.trim());
        if (!m.matches() || Long.parseLong(m.group(1)) == 0) {
            throw new ControlException(Outcome.USAGE, "--checkpoint-every takes a duration of at least 1 s, e.g. 30s, 5m or 1h, not '"
                    + duration + "'");
        }
        long n = Long.parseLong(m.group(1));
        return switch (m.group(2)) {
            case "m" -> n * 60;
            case "h" -> n * 3600;
            default -> n;
        };
    }

    private static void putIfSet(ObjectNode n, String key, String value) {
        if (value != null) {
            n.put(key, value);
        }
    }
}
