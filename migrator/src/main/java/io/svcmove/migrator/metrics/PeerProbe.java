package io.svcmove.migrator.metrics;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Each peer's reachability and wall-clock offset, measured on a thread of its own every so often,
 * so that a scrape reads the last measurement and never waits on a peer. The peers are those in
 * force at each round: a reload that adds one has it measured, one that removes it drops its state.
 */
public final class PeerProbe implements AutoCloseable {
    /** The peer's wall clock minus this node's, in seconds; throws when the peer does not answer. */
    @FunctionalInterface
    public interface Measure {
        double wallOffsetSeconds(String peer) throws Exception;
    }

    /** A peer as last measured: reachable or not, and (when reachable) its wall-clock offset. */
    public record State(boolean up, double offsetSeconds) {}

    private final Supplier<List<String>> peers;
    private final Measure measure;
    private final Map<String, State> states = new ConcurrentHashMap<>();
    private ScheduledExecutorService timer;

    public PeerProbe(Supplier<List<String>> peers, Measure measure) {
        this.peers = peers;
        this.measure = measure;
    }

    /** Measures every peer once, one after the other. */
    void probeAll() {
        List<String> listed = peers.get();
        states.keySet().retainAll(listed);
        for (String p : listed) {
            State s;
            try {
                s = new State(true, measure.wallOffsetSeconds(p));
            } catch (Exception e) {
                s = new State(false, Double.NaN);
            }
            states.put(p, s);
        }
    }

    /** Probes now, then every {@code every}. */
    public void start(Duration every) {
        timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "metrics-peer-probe");
            t.setDaemon(true);
            return t;
        });
        timer.scheduleWithFixedDelay(this::probeAll, 0, every.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** The peers measured so far, by name. */
    public Map<String, State> states() {
        return new TreeMap<>(states);
    }

    @Override
    public void close() {
        if (timer != null) {
            timer.shutdownNow();
        }
    }
}
