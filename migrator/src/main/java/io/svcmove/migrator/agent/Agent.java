package io.svcmove.migrator.agent;

import ch.qos.logback.classic.Level;
import io.svcmove.arp.ArpAnnouncer;
import io.svcmove.clock.Clock;
import com.fasterxml.jackson.databind.JsonNode;
import io.svcmove.migrator.clock.PeerClocks;
import io.svcmove.migrator.config.AgentConfig;
import io.svcmove.migrator.control.ControlException;
import io.svcmove.migrator.control.Outcome;
import io.svcmove.migrator.criu.Criu;
import io.svcmove.migrator.criu.CriuException;
import io.svcmove.migrator.criu.KernelCache;
import io.svcmove.migrator.criu.SwrkCriu;
import io.svcmove.migrator.dns.DnsSync;
import io.svcmove.migrator.failover.CheckpointRecipients;
import io.svcmove.migrator.failover.CheckpointStore;
import io.svcmove.migrator.failover.Checkpoints;
import io.svcmove.migrator.failover.Recovery;
import io.svcmove.migrator.metrics.AgentMetrics;
import io.svcmove.migrator.metrics.PeerProbe;
import io.svcmove.migrator.move.IncomingMoves;
import io.svcmove.migrator.move.Moves;
import io.svcmove.migrator.move.StaleRecords;
import io.svcmove.migrator.move.FaultInjection;
import io.svcmove.migrator.peer.PeerClient;
import io.svcmove.migrator.peer.PeerServer;
import io.svcmove.migrator.peer.RequestHandler;
import io.svcmove.migrator.pki.NodeIdentity;
import io.svcmove.migrator.service.ServiceRegistry;
import io.svcmove.migrator.service.Services;
import io.svcmove.vip.Cells;
import io.svcmove.vip.ServiceLauncher;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.BiConsumer;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** A node's agent: keeps the node's services and answers the CLI and its peers. */
public final class Agent {
    private static final Logger log = LoggerFactory.getLogger(Agent.class);
    /** How often the metrics measure each peer (reachability, clock offset): about one scrape interval. */
    private static final Duration PEER_PROBE_EVERY = Duration.ofSeconds(15);
    /** Peer requests (handlers, and received files' writes) run at most this many at once, this many more waiting. */
    static final int PEER_THREADS = 64;
    static final int PEER_QUEUE = 256;

    private Agent() {}

    /**
     * Cells are network namespaces bind-mounted under /run/netns. Under `ip netns exec` the agent
     * gets a mount namespace whose /run/netns is a slave: the cells' mounts would stay in it, and
     * vanish for everyone else (the next agent, ip netns) when it exits. Refuse that at start.
     */
    static void requireNodeMountNamespace() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            String[] f = line.split(" ");
            if (f.length > 6 && f[4].equals("/run/netns") && line.contains(" master:") && !line.contains(" shared:")) {
                throw new ControlException(Outcome.USAGE, "this agent runs in a private mount namespace (started with"
                        + " 'ip netns exec'?): the cells it makes would vanish with it. Start it in the node's own mount"
                        + " namespace, e.g. 'nsenter --net=/run/netns/NODE svcmove agent --config FILE'");
            }
        }
    }

    /** This node's key and certificates as {@code config}'s [tls] names them, checked. */
    static NodeIdentity identity(AgentConfig config) throws IOException {
        if (config.tls() == null || config.listen() == null) {
            throw new ControlException(Outcome.USAGE, "the configuration needs 'listen' and a [tls] section (ca, cert, key):"
                    + " agents only talk to peers over mutual TLS; make the certificates with 'svcmove cert'");
        }
        return NodeIdentity.load(config.node(), Path.of(config.tls().key()), Path.of(config.tls().cert()),
                Path.of(config.tls().ca()));
    }

    /** Where each of {@code config}'s [[peers]] listens, by name. */
    static Map<String, InetSocketAddress> peerAddresses(AgentConfig config) {
        Map<String, InetSocketAddress> addresses = new LinkedHashMap<>();
        config.peers().forEach(p -> addresses.put(p.name(), address(p.address())));
        return addresses;
    }

    /** Runs the agent {@code config} (read from {@code file}, which SIGHUP reads again) describes, until SIGTERM. */
    public static void run(Path file, AgentConfig config, String version) throws Exception {
        ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger("io.svcmove")).setLevel(Level.INFO);
        requireNodeMountNamespace();
        NodeIdentity identity = identity(config);
        Criu criu = null;
        String criuVersion = null;
        KernelCache.prepare();
        try {
            criu = new SwrkCriu(Installation.criu());
            criu.check();
            criuVersion = criu.version().toString();
        } catch (IllegalStateException | CriuException e) {
            // The node still runs services; it only cannot move them. Say so once, and on every move.
            log.warn("CRIU is missing or does not work on {}: services run, but none can move to or from here: {}",
                    config.node(), e.getMessage());
            criu = null;
        }

        Files.createDirectories(Path.of(config.logDir()));
        ServiceRegistry registry = new ServiceRegistry(Path.of(config.stateDir()));
        Cells cells = new Cells(config.node());
        ServiceLauncher launcher = new ServiceLauncher(Installation.launcher());
        Services services = new Services(config, registry, cells, launcher);
        services.adopt();

        // This agent's own calls complete on work, grown only by what this node does; what peers ask runs on
        // peerWork, bounded, so that no peer can grow it (past its bounds a request gets an error reply).
        ExecutorService work = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "agent-work");
            t.setDaemon(true);
            return t;
        });
        ExecutorService peerWork = BoundedPool.of("peer-request", PEER_THREADS, PEER_QUEUE);
        Map<String, InetSocketAddress> peerAddresses = peerAddresses(config);

        try (ArpAnnouncer announcer = new ArpAnnouncer();
                PeerClient peers = new PeerClient(identity, peerAddresses, work);
                PeerServer server = new PeerServer(identity, peerAddresses::containsKey, peerWork)) {
            ConfigReload reload = new ConfigReload(file, config, identity, server, peers);
            FaultInjection faults = FaultInjection.fromEnvironment();
            // What a reload changes ([[peers]], [tls]) reaches each part at its next operation, through reload.
            IncomingMoves incoming = new IncomingMoves(reload::config, IncomingMoves.Effects.on(cells, criu, criu == null ? null
                    : Installation.criu(), announcer, launcher, peers), registry, criuVersion, faults);
            incoming.removeLeftoverImages();
            incoming.finishArrivals();
            PeerClocks clocks = new PeerClocks(PeerClocks.fromEnvironment(), peers);
            AgentMetrics metrics = new AgentMetrics(version);
            Moves moves = new Moves(reload::config, cells, registry, criu, criuVersion, peers, announcer, clocks, faults, metrics);
            Nodes nodes = new Nodes(config, reload, registry, criuVersion, peers, clocks);
            DnsSync dnsSync = new DnsSync(reload::config, registry, peers);
            Drains drains = new Drains(reload::config, registry, cells, peers, nodes, moves);
            CheckpointStore checkpointStore = new CheckpointStore(Path.of(config.stateDir()), peers);
            CheckpointRecipients recipients = new CheckpointRecipients(reload::identity, peers);
            Checkpoints checkpoints = new Checkpoints(reload::config, registry, cells, criu, peers, recipients, moves.lock());
            Recovery recovery = new Recovery(reload::config, registry, cells, criu, peers, announcer, launcher, checkpointStore,
                    reload::identity, moves.lock());
            // Every peer request passes the audit, which logs those that are part of a move, drain or recovery.
            BiConsumer<String, RequestHandler> serve = (type, h) -> server.registerHandler(type, Audit.peer(type, h));
            incoming.handlers().forEach(serve);
            moves.handlers().forEach(serve);
            serve.accept(NodeMessages.Type.INFO, nodes.handler());
            dnsSync.handlers().forEach(serve);
            drains.handlers().forEach(serve);
            serve.accept(PeerClocks.PROBE, clocks.handler());
            checkpointStore.handlers().forEach(serve);
            recovery.handlers().forEach(serve);
            recipients.handlers().forEach(serve);
            server.acceptTransfers((peer, transferId) -> {
                Path failover = recovery.transferTarget(peer, transferId);
                return failover != null ? failover : incoming.imagesFor(transferId);
            });
            server.knownAddresses(peerAddresses.values());
            server.bind(address(config.listen()));
            log.info("peer channel listening on {} (mutual TLS; peers: {})", config.listen(), peerAddresses.keySet());
            reload.onHangup();
            moves.unfinished().start();
            new StaleRecords(reload::config, services, peers, Duration.ofSeconds(15), 20).start();

            checkpoints.start();
            PeerProbe probe = new PeerProbe(() -> reload.config().peerNames(),
                    peer -> clocks.measure(peer).offsetNs(Clock.REALTIME) / 1e9);
            metrics.countRefusedPeerConnections(server::refusedConnections);
            metrics.watch(new AgentMetrics.Sources(services::countByState, checkpoints::takenAt, probe::states,
                    System::currentTimeMillis));
            if (config.metrics() != null && config.metrics().listen() != null) {
                metrics.serve(address(config.metrics().listen()));
                probe.start(PEER_PROBE_EVERY);
                log.info("metrics on http://{}/metrics", config.metrics().listen());
            }
            CountDownLatch stopped = new CountDownLatch(1);
            CertificateWatch certificates = new CertificateWatch(reload::config, reload::identity, peers);
            certificates.start();
            try (checkpoints; metrics; probe; certificates;
                    ControlServer control = new ControlServer(Path.of(config.socket()), Map.ofEntries(
                    op("run", (req, events) -> services.run(req, announcer)),
                    op("stop", (req, events) -> {
                        // A dead service's checkpoints stay: they are what recovers it.
                        boolean wasRunning = services.runs(req.path("name").asText());
                        JsonNode r;
                        // Refused at once while a move holds the service; otherwise under the lock of moves,
                        // checkpoints and recoveries, so that it never meets one half-way.
                        services.checkStoppable(req.path("name").asText());
                        synchronized (moves.lock()) {
                            r = services.stop(req);
                        }
                        if (wasRunning) {
                            checkpoints.dropEverywhere(req.path("name").asText());
                        }
                        return r;
                    }),
                    op("status", (req, events) -> checkpoints.annotate(services.status(req), checkpointStore)),
                    op("recover", (req, events) -> recovery.recover(req)),
                    op("move", (req, events) -> moves.move(req, events::send)),
                    op("moves", (req, events) -> PeerAnswers.fromAll(reload.config(), peers, Moves.IN_FLIGHT, Duration.ofSeconds(3),
                            moves.inFlight(), UnaryOperator.identity())),
                    op("cancel", (req, events) -> moves.cancel(req)),
                    op("check", (req, events) -> moves.check(req)),
                    op("nodes", (req, events) -> nodes.all()),
                    op("dns.sync", (req, events) -> dnsSync.sync(req)),
                    op("drain", (req, events) -> drains.drain(req, events::send)),
                    op("undrain", (req, events) -> drains.undrain(req))))) {
                Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                    log.info("agent of {} stopping; its services keep running", config.node());
                    stopped.countDown();
                }));
                log.info("agent of {} ready (CRIU {})", config.node(), criuVersion == null ? "missing" : criuVersion);
                stopped.await();
            }
        }
    }

    /** One operation of the CLI socket, by the name its requests give. */
    private static Map.Entry<String, ControlServer.Handler> op(String name, ControlServer.Handler handler) {
        return Map.entry(name, handler);
    }

    private static InetSocketAddress address(String hostPort) {
        int colon = hostPort.lastIndexOf(':');
        if (colon < 0) {
            throw new ControlException(Outcome.USAGE, "'" + hostPort
                    + "' is not ADDRESS:PORT (in listen, [metrics] listen or [[peers]] address)");
        }
        return new InetSocketAddress(hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1)));
    }
}
