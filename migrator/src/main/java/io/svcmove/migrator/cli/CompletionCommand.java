package io.svcmove.migrator.cli;

import io.svcmove.migrator.config.AgentConfig;
import io.svcmove.migrator.control.ControlException;
import io.svcmove.migrator.control.ControlMessage;
import io.svcmove.migrator.control.Outcome;
import io.svcmove.migrator.pki.CertCommand;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.List;
import java.util.stream.Collectors;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

/**
 * {@code svcmove completion bash} prints the bash completion script: the commands' table made from the
 * very Options the parser uses, then the fixed logic (svcmove-completion.bash beside this class). So
 * the build writes the script and a TAB costs no JVM start, except where only the agent knows the
 * answer: the script then asks {@code svcmove completion services} or {@code nodes}, under a timeout.
 */
final class CompletionCommand implements Command {
    private static final String LOGIC = "svcmove-completion.bash";
    private final Collection<Command> commands;

    /** The commands to complete: a live view, this one among them. */
    CompletionCommand(Collection<Command> commands) {
        this.commands = commands;
    }

    @Override
    public String name() {
        return "completion";
    }

    @Override
    public String usage() {
        return "bash | services | nodes";
    }

    @Override
    public String summary() {
        return "print the bash completion script, or the service or node names it offers";
    }

    @Override
    public String details() {
        return """
                bash: the completion script of the svcmove command, made from its own commands and
                options ('make install' and the Debian package install it; or: source <(svcmove completion bash)).
                services: the names of this node's services, one a line, from the agent (root, as the agent's
                socket accepts root only). nodes: this node and its [[peers]], from agent.toml.
                The script asks for names with a 2 s timeout ($SVCMOVE_COMPLETION_TIMEOUT) and ignores
                errors: no agent, no names.
                """;
    }

    @Override
    public Options options() {
        return new Options();
    }

    @Override
    public List<String> operands() {
        return List.of("bash|services|nodes");
    }

    @Override
    public boolean needsAgent() {
        return false;
    }

    @Override
    public int run(CommandLine line, Cli cli) {
        String what = line.getArgList().size() == 1 ? line.getArgList().get(0) : "";
        switch (what) {
            case "bash" -> cli.out.print(script());
            case "services" -> cli.call(ControlMessage.request("status")).path("services")
                    .forEach(s -> cli.out.println(s.path("name").asText()));
            case "nodes" -> {
                AgentConfig config = load(cli);
                cli.out.println(config.node());
                config.peers().forEach(p -> cli.out.println(p.name()));
            }
            default -> throw new ControlException(Outcome.USAGE, "say what to print: svcmove completion " + usage());
        }
        return 0;
    }

    private static AgentConfig load(Cli cli) {
        try {
            return AgentConfig.load(cli.configFile());
        } catch (AgentConfig.ConfigException e) {
            throw new ControlException(Outcome.USAGE, e.getMessage());
        }
    }

    /** The whole script: the table of commands, then the logic that reads it. */
    String script() {
        StringBuilder t = new StringBuilder("# bash completion for svcmove, made by 'svcmove completion bash' from the CLI's own"
                + " commands and options:\n# make it again rather than edit it.\n");
        List<String> names = commands.stream().map(Command::name).collect(Collectors.toList());
        names.addAll(List.of("cert", "help"));
        t.append("_svcmove_commands='").append(String.join(" ", names)).append("'\n\n");
        t.append("# Sets the options of command $1, those of them that take a value (OPTION=KIND), and its operands' kinds.\n");
        t.append("_svcmove_spec() {\n  case $1 in\n");
        for (Command c : commands) {
            row(t, c.name(), Svcmove.withCommon(c), c.operands());
        }
        row(t, "cert", CertCommand.options(), List.of("ca|node"));
        row(t, "help", new Options(), List.of(String.join("|", names.subList(0, names.size() - 1))));
        t.append("  *) return 1 ;;\n  esac\n}\n\n");
        try (InputStream in = CompletionCommand.class.getResourceAsStream(LOGIC)) {
            if (in == null) {
                throw new IllegalStateException(LOGIC + " is missing from the jar: rebuild it");
            }
            return t + new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + LOGIC + " from the jar: " + e.getMessage(), e);
        }
    }

    private static void row(StringBuilder t, String name, Options options, List<String> operands) {
        List<Option> longs = options.getOptions().stream().filter(o -> o.getLongOpt() != null)
                .sorted((a, b) -> a.getLongOpt().compareTo(b.getLongOpt())).toList();
        t.append("  ").append(name).append(")\n");
        t.append("    _svcmove_opts='").append(longs.stream().map(o -> "--" + o.getLongOpt()).collect(Collectors.joining(" ")))
                .append("'\n");
        t.append("    _svcmove_values='").append(longs.stream().filter(Option::hasArg)
                .map(o -> "--" + o.getLongOpt() + "=" + valueKind(o)).collect(Collectors.joining(" "))).append("'\n");
        t.append("    _svcmove_operands='").append(String.join(" ", operands)).append("' ;;\n");
    }

    /** What completes an option's value, from its argument's name: the words "a|b", files, directories, nodes, or nothing. */
    static String valueKind(Option o) {
        String arg = o.getArgName() == null ? "" : o.getArgName();
        return arg.contains("|") ? arg : switch (arg) {
            case "FILE" -> "@file";
            case "DIR" -> "@dir";
            case "NODE" -> NODE;
            default -> "";
        };
    }
}
