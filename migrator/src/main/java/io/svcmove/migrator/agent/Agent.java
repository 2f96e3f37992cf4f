package io.svcmove.migrator.agent;

import ch.qos.logback.classic.Level;
import io.svcmove.migrator.config.AgentConfig;
import io.svcmove.migrator.service.ServiceRegistry;
import io.svcmove.migrator.service.Services;
import io.svcmove.vip.Cells;
import io.svcmove.vip.ServiceLauncher;
import io.svcmove.migrator.control.ControlException;
import io.svcmove.migrator.control.Outcome;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** A node's agent: keeps the node's services and answers the CLI and its peers. */
public final class Agent {
    private static final Logger log = LoggerFactory.getLogger(Agent.class);

    private Agent() {}

    /**
     * Cells are network namespaces bind-mounted under /run/netns. Under `ip netns exec` the agent
     * gets a mount namespace whose /run/netns is a slave: the cells' mounts would stay in it, and
     * vanish for everyone else (the next agent, ip netns) when it exits. Refuse that at start.
     */
    static void requireNodeMountNamespace() throws IOException {
        Path mountinfo = Path.of("/proc/self/mountinfo");
        for (String line : Files.readAllLines(mountinfo)) {
            String[] f = line.split(" ");
            if (f.length > 6 && f[4].equals("/run/netns") && line.contains(" master:") && !line.contains(" shared:")) {
                throw new ControlException(Outcome.USAGE, "this agent runs in a private mount namespace (started with"
                        + " 'ip netns exec'?): the cells it makes would vanish with it. Start it in the node's own mount"
                        + " namespace, e.g. 'nsenter --net=/run/netns/NODE svcmove agent --config FILE'");
            }
        }
    }

    public static void run(AgentConfig config) throws Exception {
        ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger("io.svcmove")).setLevel(Level.INFO);
        requireNodeMountNamespace();
        Files.createDirectories(Path.of(config.logDir()));
        ServiceRegistry registry = new ServiceRegistry(Path.of(config.stateDir()));
        Services services = new Services(config, registry, new Cells(config.node()), new ServiceLauncher(Installation.launcher()));
        services.adopt();

        CountDownLatch stopped = new CountDownLatch(1);
        try (ControlServer control = new ControlServer(Path.of(config.socket()), Map.of(
                "run", (req, events) -> services.run(req),
                "stop", (req, events) -> services.stop(req),
                "status", (req, events) -> services.status(req)))) {
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                log.info("agent of {} stopping; its services keep running", config.node());
                stopped.countDown();
            }));
            log.info("agent of {} ready", config.node());
            stopped.await();
        }
    }
}
