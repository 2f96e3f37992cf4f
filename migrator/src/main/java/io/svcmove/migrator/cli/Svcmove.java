package io.svcmove.migrator.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.svcmove.migrator.control.ControlException;
import io.svcmove.migrator.control.ControlMessage;
import io.svcmove.migrator.control.Outcome;
import io.svcmove.migrator.pki.CertCommand;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.DefaultParser;
import org.apache.commons.cli.HelpFormatter;
import org.apache.commons.cli.Options;
import org.apache.commons.cli.ParseException;

/** Entry point of the svcmove command: finds the verb, parses its options, maps failures to exit codes. */
public final class Svcmove {
    private final Map<String, Command> commands = new LinkedHashMap<>();
    private final PrintStream out;
    private final PrintStream err;

    Svcmove(PrintStream out, PrintStream err, List<Command> verbs) {
        this.out = out;
        this.err = err;
        verbs.forEach(c -> commands.put(c.name(), c));
        Command completion = new CompletionCommand(commands.values());
        commands.put(completion.name(), completion);
    }

    public static void main(String[] args) {
        System.exit(new Svcmove(System.out, System.err, verbs()).run(args));
    }

    /** The commands, in the order --help lists them ('completion' joins them, knowing them all). */
    static List<Command> verbs() {
        return List.of(new RunCommand(), new StopCommand(), new StatusCommand(), new MoveCommand(), new CheckCommand(), new MovesCommand(),
                new CancelCommand(), new NodesCommand(), new DrainCommand(), new UndrainCommand(), new RecoverCommand(), new DnsCommand(), new AgentCommand());
    }

    int run(String[] args) {
        if (args.length == 0 || args[0].equals("help") || args[0].equals("--help") || args[0].equals("-h")) {
            if (args.length > 1 && commands.containsKey(args[1])) {
                help(commands.get(args[1]), out);
            } else {
                overview(args.length == 0 ? err : out);
            }
            return args.length == 0 ? Outcome.USAGE.exitCode : 0;
        }
        if (args[0].equals("--version")) {
            out.println("svcmove " + version());
            return 0;
        }
        if (args[0].equals("cert")) {
            return CertCommand.run(Arrays.copyOfRange(args, 1, args.length), out, err);
        }
        // `svcmove web node2` is the move operators type most.
        if (!commands.containsKey(args[0]) && !args[0].startsWith("-") && args.length >= 2 && !args[1].startsWith("-")) {
            String[] moved = new String[args.length + 1];
            moved[0] = "move";
            System.arraycopy(args, 0, moved, 1, args.length);
            args = moved;
        }
        Command c = commands.get(args[0]);
        if (c == null) {
            err.println("svcmove: unknown command '" + args[0] + "'; 'svcmove --help' lists the commands");
            return Outcome.USAGE.exitCode;
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        if (Arrays.asList(rest).contains("--help") || Arrays.asList(rest).contains("-h")) {
            help(c, out);
            return 0;
        }
        CommandLine line;
        try {
            line = new DefaultParser().parse(withCommon(c), rest, false);
        } catch (ParseException e) {
            err.println("svcmove " + c.name() + ": " + e.getMessage() + "\nusage: svcmove " + c.name() + " " + c.usage()
                    + "\n('svcmove " + c.name() + " --help' explains)");
            return Outcome.USAGE.exitCode;
        }
        Cli cli = new Cli(line, out, err);
        try {
            if (c.needsAgent() && !isRoot()) {
                throw new ControlException(Outcome.NO_PERMISSION, "must run as root: the agent's socket accepts root only (try: sudo svcmove "
                        + String.join(" ", args) + ")");
            }
            return c.run(line, cli);
        } catch (ControlException e) {
            if (cli.json()) {
                ObjectNode n = ControlMessage.JSON.createObjectNode();
                n.put("ok", false).put("outcome", e.outcome().name().toLowerCase()).put("message", e.getMessage());
                cli.printJson(n);
            }
            err.println("svcmove " + c.name() + ": " + e.getMessage());
            return e.outcome().exitCode;
        } catch (Exception e) {
            err.println("svcmove " + c.name() + ": unexpected failure: " + e);
            return Outcome.INTERNAL.exitCode;
        }
    }

    /** A command's options with those every command takes: what its parser, --help and completion use. */
    static Options withCommon(Command c) {
        Options o = c.options();
        o.addOption(Cli.CONFIG);
        if (c.needsAgent()) {
            o.addOption(Cli.JSON);
        }
        return o;
    }

    private void help(Command c, PrintStream to) {
        PrintWriter w = new PrintWriter(to);
        new HelpFormatter().printHelp(w, 100, "svcmove " + c.name() + " " + c.usage(), "\n" + c.summary() + "\n\n",
                withCommon(c), 2, 4, "\n" + c.details(), false);
        w.flush();
    }

    private void overview(PrintStream to) {
        to.println("svcmove moves a running service, with its clients' open TCP connections, to another node.\n");
        to.println("usage: svcmove COMMAND [OPTIONS]   ('svcmove COMMAND --help' for each)\n");
        commands.values().forEach(c -> to.printf("  %-10s %s%n", c.name(), c.summary()));
        to.printf("  %-10s %s%n", "cert", "create the cluster CA and node certificates the agents authenticate with");
        to.println("\nExit codes: 0 done; 1 failed (what was made was undone); 2 bad usage; 3 refused, nothing changed;"
                + "\n4 move rolled back, the service runs where it was; 5 no such service or node; 6 move outcome unknown"
                + "\n(the agents settle it when they can talk again); 69 agent unreachable;"
                + "\n70 internal error; 77 not root.");
    }

    static String version() {
        String v = Svcmove.class.getPackage().getImplementationVersion();
        return v == null ? "0.1.0-dev" : v;
    }

    private static boolean isRoot() {
        return new com.sun.security.auth.module.UnixSystem().getUid() == 0;
    }
}
