package io.svcmove.migrator.metrics;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.core.metrics.Info;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.svcmove.migrator.control.Outcome;
import io.svcmove.migrator.move.MoveMetrics;
import io.svcmove.migrator.move.OutgoingMove;
import io.svcmove.migrator.move.Phase;
import io.svcmove.vip.PacketCounts;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * The agent's Prometheus metrics, all in one place: what the move engine reports at its two points
 * ({@link MoveMetrics}), gauges read at each scrape from the agent's own state, the packet buffer's
 * totals, the JVM's, and the HTTP endpoint that serves them. Labels stay few and bounded: outcome,
 * mode, phase, service state, and per service or peer name (a cluster has few of either).
 */
public final class AgentMetrics implements MoveMetrics, AutoCloseable {
    /** The outcomes a move ends in, and the modes it runs in, shown as 0 before the first move. */
    private static final List<Outcome> MOVE_OUTCOMES = List.of(Outcome.OK, Outcome.REFUSED, Outcome.ROLLED_BACK, Outcome.FAILED,
            Outcome.UNKNOWN);
    private static final List<String> MODES = List.of("eager", "lazy", "precopy");
    /** Freezes are tenths of seconds for small services and seconds for large ones. */
    private static final double[] FREEZE_BUCKETS = {0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 2, 5, 10, 30};
    private static final double[] PHASE_BUCKETS = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
    /** Scrapes are served by at most this many threads; more waiting scrapes are served by the acceptor, which then accepts no more. */
    private static final int HTTP_THREADS = 2;

    /** What the gauges read at each scrape: services by state, checkpoint times by service, peers by name, the time now. */
    public record Sources(Supplier<Map<String, Long>> servicesByState, Supplier<Map<String, Long>> checkpointsTakenAtMs,
            Supplier<Map<String, PeerProbe.State>> peers, LongSupplier nowMs) {}

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Counter moves;
    private final Histogram freeze;
    private final Histogram phases;
    private final Counter imageBytes;
    private final Histogram precopyRounds;
    private final Counter precopyPages;
    private HTTPServer server;

    /** The move engine's metrics, the packet buffer's and the JVM's; the agent's state joins with {@link #watch}. */
    public AgentMetrics(String version) {
        Info build = Info.builder().name("svcmove_build_info").help("The running agent's version (always 1)")
                .labelNames("version").register(registry);
        build.setLabelValues(version);
        moves = Counter.builder().name("svcmove_moves_total").help("Moves asked of this node as their source, by how they ended"
                + " and the mode they ran in (a move refused before choosing one: the mode asked for)")
                .labelNames("outcome", "mode").register(registry);
        MOVE_OUTCOMES.forEach(o -> MODES.forEach(m -> moves.initLabelValues(label(o), m)));
        freeze = Histogram.builder().name("svcmove_move_freeze_seconds").help("How long completed moves from here kept the service"
                + " frozen: from the hold to the destination's copy running").classicOnly().classicUpperBounds(FREEZE_BUCKETS)
                .labelNames("mode").register(registry);
        phases = Histogram.builder().name("svcmove_move_phase_seconds").help("How long each phase of completed moves from here took")
                .classicOnly().classicUpperBounds(PHASE_BUCKETS).labelNames("phase").register(registry);
        imageBytes = Counter.builder().name("svcmove_move_image_bytes_total").help("Bytes of CRIU images completed moves from here"
                + " sent to their destination (a lazy move's pages served after the freeze are not counted)")
                .labelNames("mode").register(registry);
        precopyRounds = Histogram.builder().name("svcmove_move_precopy_rounds").help("How many pre-dump rounds completed pre-copy"
                + " moves from here made while the service ran").classicOnly().classicUpperBounds(1, 2, 3, 4, 5, 6, 7, 8)
                .register(registry);
        precopyPages = Counter.builder().name("svcmove_move_precopy_pages_total").help("Memory pages completed pre-copy moves from"
                + " here dumped, by dump: the rounds while the service ran (pre-dump) and the final dump during the freeze (final)")
                .labelNames("dump").register(registry);
        precopyPages.initLabelValues("pre-dump");
        precopyPages.initLabelValues("final");
        MODES.forEach(m -> {
            freeze.initLabelValues(m);
            imageBytes.initLabelValues(m);
        });
        for (Phase p : Phase.values()) {
            phases.initLabelValues(p.label());
        }
        callbackCounter("svcmove_buffer_buffered_packets_total", "Frames the packet buffer kept during freezes", PacketCounts::buffered);
        callbackCounter("svcmove_buffer_buffered_bytes_total", "IP bytes (IPv4 and IPv6) of the frames the packet buffer kept", PacketCounts::bufferedBytes);
        callbackCounter("svcmove_buffer_dropped_packets_total", "Frames a full packet buffer could not keep (their senders retransmit"
                + " them)", PacketCounts::dropped);
        callbackCounter("svcmove_buffer_injected_packets_total", "Buffered packets injected into a cell here (on a destination, or back"
                + " on the source after a rollback)", PacketCounts::injected);
        JvmMetrics.builder().register(registry);
    }

    /** Adds the gauges read from the agent's state at each scrape. */
    public void watch(Sources sources) {
        GaugeWithCallback.builder().name("svcmove_services").help("Services recorded on this node, by state (as 'svcmove status'"
                + " shows it)").labelNames("state")
                .callback(cb -> sources.servicesByState().get().forEach((state, n) -> cb.call(n, state))).register(registry);
        GaugeWithCallback.builder().name("svcmove_checkpoint_age_seconds").help("Time since this node last checkpointed each service"
                + " (services checkpointed since the agent started)").labelNames("service")
                .callback(cb -> {
                    long now = sources.nowMs().getAsLong();
                    sources.checkpointsTakenAtMs().get().forEach((name, at) -> cb.call((now - at) / 1000.0, name));
                }).register(registry);
        GaugeWithCallback.builder().name("svcmove_peer_up").help("Whether each peer's agent answered the last probe (1) or not (0)")
                .labelNames("peer").callback(cb -> sources.peers().get().forEach((peer, s) -> cb.call(s.up() ? 1 : 0, peer)))
                .register(registry);
        GaugeWithCallback.builder().name("svcmove_peer_clock_offset_seconds").help("Each reachable peer's wall clock minus this"
                + " node's, at the last probe").labelNames("peer")
                .callback(cb -> sources.peers().get().forEach((peer, s) -> {
                    if (s.up()) {
                        cb.call(s.offsetSeconds(), peer);
                    }
                })).register(registry);
    }

    /** Connections to the peer port refused because too many were still in their TLS handshake. */
    public void countRefusedPeerConnections(LongSupplier total) {
        callbackCounter("svcmove_peer_connections_refused_total", "Connections to the peer port closed at once because too many from"
                + " their address, or in all, were still unauthenticated", total);
    }

    private void callbackCounter(String name, String help, LongSupplier total) {
        CounterWithCallback.builder().name(name).help(help).callback(cb -> cb.call(total.getAsLong())).register(registry);
    }

    private static String label(Outcome o) {
        return o.name().toLowerCase(Locale.ROOT);
    }

    @Override
    public void ended(String mode, Outcome outcome) {
        moves.labelValues(label(outcome), mode).inc();
    }

    @Override
    public void completed(OutgoingMove.Report report) {
        String mode = report.mode();
        freeze.labelValues(mode).observe(report.freezeMicros() / 1e6);
        report.result().micros().forEach((phase, micros) -> phases.labelValues(phase.label()).observe(micros / 1e6));
        imageBytes.labelValues(mode).inc(report.transferBytes() + report.precopyRounds().stream().mapToLong(OutgoingMove.Round::bytes).sum());
        if (!report.precopyRounds().isEmpty()) {
            precopyRounds.observe(report.precopyRounds().size());
            precopyPages.labelValues("pre-dump").inc(report.precopyRounds().stream().mapToLong(OutgoingMove.Round::pages).sum());
            precopyPages.labelValues("final").inc(report.finalDumpPages());
        }
    }

    /**
     * Serves the metrics at http://ADDRESS:PORT/metrics on the JDK's HTTP server (never on the peer
     * channel's event loops), with a bounded pool: a busy or hostile scraper gets its answers later,
     * not more threads. Returns the port (useful when {@code at} asks for any).
     */
    public int serve(InetSocketAddress at) throws IOException {
        ThreadPoolExecutor threads = new ThreadPoolExecutor(1, HTTP_THREADS, 60, TimeUnit.SECONDS, new ArrayBlockingQueue<>(8), r -> {
            Thread t = new Thread(r, "metrics-http");
            t.setDaemon(true);
            return t;
        }, new ThreadPoolExecutor.CallerRunsPolicy());
        try {
            server = HTTPServer.builder().inetAddress(at.getAddress()).port(at.getPort()).registry(registry).executorService(threads)
                    .buildAndStart();
        } catch (IOException e) {
            threads.shutdownNow();
            throw new IOException("cannot serve metrics on " + at.getAddress().getHostAddress() + ":" + at.getPort() + " ("
                    + e.getMessage() + "): free that port or change [metrics] listen in agent.toml", e);
        }
        return server.getPort();
    }

    @Override
    public void close() {
        if (server != null) {
            server.close();
        }
    }
}
