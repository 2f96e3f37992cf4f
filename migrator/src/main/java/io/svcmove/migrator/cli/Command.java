package io.svcmove.migrator.cli;

import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Options;

/** One verb of the svcmove command. */
interface Command {
    String name();

    /** The synopsis after "svcmove NAME". */
    String usage();

    /** One line for the command list. */
    String summary();

    /** What --help prints below the options: what it does, and an example. */
    String details();

    Options options();

    /** Whether the command talks to the agent (and so needs root). */
    default boolean needsAgent() {
        return true;
    }

    /** Runs the command; returns the exit code. Throws ControlException for operator-facing failures. */
    int run(CommandLine line, Cli cli) throws Exception;
}
