package io.svcmove.migrator.cli;

import java.util.List;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Options;

/** One verb of the svcmove command. */
interface Command {
    /** Operand kinds for {@link #operands()}: a service this node's agent runs, a node of agent.toml. */
    String SERVICE = "@service";
    String NODE = "@node";

    String name();

    /** The synopsis after "svcmove NAME". */
    String usage();

    /** One line for the command list. */
    String summary();

    /** What --help prints below the options: what it does, and an example. */
    String details();

    Options options();

    /**
     * What its operands are, in order, for shell completion: {@link #SERVICE}, {@link #NODE}, or the
     * words one may be ("sync|check"). The operands after the last listed are not completed.
     */
    default List<String> operands() {
        return List.of();
    }

    /** Whether the command talks to the agent (and so needs root). */
    default boolean needsAgent() {
        return true;
    }

    /** Runs the command; returns the exit code. Throws ControlException for operator-facing failures. */
    int run(CommandLine line, Cli cli) throws Exception;
}
