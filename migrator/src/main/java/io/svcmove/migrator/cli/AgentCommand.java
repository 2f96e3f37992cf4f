package io.svcmove.migrator.cli;

import io.svcmove.migrator.agent.Agent;
import io.svcmove.migrator.config.AgentConfig;
import io.svcmove.migrator.control.ControlException;
import io.svcmove.migrator.control.Outcome;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Options;

final class AgentCommand implements Command {
    @Override
    public String name() {
        return "agent";
    }

    @Override
    public String usage() {
        return "[--config FILE]";
    }

    @Override
    public String summary() {
        return "run this node's agent (a daemon; systemd runs it as svcmove-agent)";
    }

    @Override
    public String details() {
        return """
                The agent keeps the node's services: it starts and stops their cells, re-adopts them
                after a restart (state under state_dir), listens for the CLI on its socket (root only)
                and for its peers on 'listen' (mutual TLS with the cluster's certificates). It logs to
                standard error; stop it with SIGTERM: the services keep running. SIGHUP (systemctl reload
                svcmove-agent) reads the configuration again and applies its [[peers]] and [tls] at once:
                connections of peers no longer listed, or whose certificate no longer passes, are closed,
                and moves, drains, dns sync, checkpoints and recovery use the new peers from then on;
                a file that does not load is refused and the running configuration kept.
                """;
    }

    @Override
    public Options options() {
        return new Options();
    }

    @Override
    public int run(CommandLine line, Cli cli) throws Exception {
        AgentConfig config;
        try {
            config = AgentConfig.load(cli.configFile());
        } catch (AgentConfig.ConfigException e) {
            throw new ControlException(Outcome.USAGE, e.getMessage());
        }
        Agent.run(cli.configFile(), config, Svcmove.version());
        return 0;
    }
}
