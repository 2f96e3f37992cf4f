package io.svcmove.clock;

import java.util.Collection;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.Map;

/**
 * A peer's clocks relative to this node's: for each clock, the peer's reading minus ours (ns), and
 * the bound on the error of each ({@code uncertaintyNs}: half the round trip of the exchange used).
 */
public record Offsets(Map<Clock, Long> offsetNs, long uncertaintyNs, long roundTripNs, int exchanges) {

    public Offsets {
        offsetNs = Map.copyOf(offsetNs);
    }

    public long offsetNs(Clock c) {
        return offsetNs.get(c);
    }

    /**
     * The minimum-round-trip filter: of several exchanges, the one that spent the least time in
     * transit says the most, since queueing, a thread hop or a GC pause only ever add delay, and
     * delay on one leg alone is what skews an estimate.
     */
    public static Offsets best(Collection<Exchange> exchanges) {
        if (exchanges.isEmpty()) {
            throw new IllegalArgumentException("no exchange to estimate clock offsets from");
        }
        Exchange best = exchanges.stream().min(Comparator.comparingLong(Exchange::roundTripNs)).orElseThrow();
        Map<Clock, Long> o = new EnumMap<>(Clock.class);
        for (Clock c : Clock.values()) {
            o.put(c, best.offsetNs(c));
        }
        long rtt = Math.max(0, best.roundTripNs());
        return new Offsets(o, (rtt + 1) / 2, rtt, exchanges.size());
    }
}
