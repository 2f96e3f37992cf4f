package io.svcmove.migrator.clock;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.svcmove.clock.Clock;
import io.svcmove.clock.ClockReading;
import io.svcmove.clock.ClockSource;
import io.svcmove.clock.ClockSync;
import io.svcmove.clock.Offsets;
import io.svcmove.migrator.control.ControlException;
import io.svcmove.migrator.control.ControlMessage;
import io.svcmove.migrator.control.Outcome;
import io.svcmove.migrator.peer.Messages;
import io.svcmove.migrator.peer.PeerClient;
import io.svcmove.migrator.peer.RequestHandler;
import java.time.Duration;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Clock offsets between this node and its peers over the agents' channel: the peer request that
 * answers with this node's clocks, the measurement, and the move's pre-flight on the wall clock.
 */
public final class PeerClocks {
    private static final Logger log = LoggerFactory.getLogger(PeerClocks.class);
    public static final String PROBE = "clock.probe";
    /** Test knob: milliseconds added to this agent's wall-clock readings, to meet skew that time namespaces cannot make. */
    public static final String SKEW_ENV = "SVCMOVE_CLOCK_SKEW_MS";
    /** Each exchange crosses TLS and a thread hop (~1 ms); the fastest of 8 is usually well under that. */
    private static final int EXCHANGES = 8;
    private static final Duration ASK = Duration.ofSeconds(3);

    private final ClockSource clocks;
    private final PeerClient peers;

    public PeerClocks(ClockSource clocks, PeerClient peers) {
        this.clocks = clocks;
        this.peers = peers;
    }

    /** This process's clocks, with the skew of {@value #SKEW_ENV} if set. */
    public static ClockSource fromEnvironment() {
        String skew = System.getenv(SKEW_ENV);
        if (skew == null || skew.isBlank()) {
            return ClockSource.system();
        }
        try {
            log.warn("{}={}: this agent's wall clock is reported {} ms off, for tests only", SKEW_ENV, skew, skew);
            return ClockSource.system().withWallSkew(Duration.ofMillis(Long.parseLong(skew.strip())));
        } catch (NumberFormatException e) {
            throw new ControlException(Outcome.USAGE, SKEW_ENV + "='" + skew + "' is not a whole number of milliseconds: unset it");
        }
    }

    /** The handler of the peer request: this node's clocks on arrival (t2) and just before answering (t3). */
    public RequestHandler handler() {
        return Messages.typed((from, body) -> {
            ClockReading received = clocks.now();
            return new ClockSync.PeerStamps(received, clocks.now());
        });
    }

    /** The peer's clocks minus this node's. */
    public Offsets measure(String node) throws Exception {
        return new ClockSync(clocks).measure(() -> Messages.await(Messages.call(peers, node, PROBE, Map.of(), ClockSync.PeerStamps.class,
                ASK)), EXCHANGES);
    }

    /** As {@code svcmove nodes} shows them: milliseconds, the peer's clock minus this node's. */
    public static ObjectNode json(Offsets o) {
        ObjectNode n = ControlMessage.JSON.createObjectNode();
        for (Clock c : Clock.values()) {
            n.put(c.key() + "_ms", o.offsetNs(c) / 1e6);
        }
        return n.put("uncertainty_ms", o.uncertaintyNs() / 1e6).put("round_trip_ms", o.roundTripNs() / 1e6)
                .put("exchanges", o.exchanges());
    }

    /**
     * Pre-flight of a move: refuses when the two wall clocks may differ by more than {@code maxMs}
     * (the service's wall clock would step by that much). A peer that cannot be measured is not
     * refused here: the move's prepare reaches it next and says what is wrong.
     */
    public void checkWallOffset(String here, String to, long maxMs, boolean force) {
        Offsets o;
        try {
            o = measure(to);
        } catch (Exception e) {
            log.info("cannot measure the clock offset to {} before the move: {}", to, e.getMessage());
            return;
        }
        long off = o.offsetNs(Clock.REALTIME);
        // The least the offset can be: a measurement this unsure does not refuse on its noise alone.
        long leastMs = Math.max(0, Math.abs(off) - o.uncertaintyNs()) / 1_000_000;
        String what = String.format("the wall clocks of %s and %s differ by %+.1f ms (± %.1f ms; %s minus %s), above the bound"
                + " of %d ms ([move] max_clock_offset_ms)", here, to, off / 1e6, o.uncertaintyNs() / 1e6, to, here, maxMs);
        if (leastMs <= maxMs) {
            log.info("wall clock of {} is {} ms ± {} ms from {}'s", to, off / 1e6, o.uncertaintyNs() / 1e6, here);
            return;
        }
        if (force) {
            log.warn("{}; moving anyway (--force): the service's wall clock steps by that much", what);
            return;
        }
        throw new ControlException(Outcome.REFUSED, "move refused: " + what + ". The service would see its wall clock step;"
                + " fix time sync (NTP) on both nodes, or move anyway with --force");
    }
}
