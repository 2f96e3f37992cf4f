package io.svcmove.clock;

/**
 * One request/answer with a peer, NTP-style: {@code sent} (t1) and {@code received} (t4) on this
 * node, {@code peerReceived} (t2) and {@code peerSent} (t3) on the peer. Assuming the two legs take
 * equal time, the peer's clock minus ours is {@code ((t2-t1) + (t3-t4)) / 2}; whatever the legs
 * really took, the true offset lies within half the round trip {@code (t4-t1) - (t3-t2)} of it.
 */
public record Exchange(ClockReading sent, ClockReading peerReceived, ClockReading peerSent, ClockReading received) {

    /** The peer's clock minus this node's, in ns. */
    public long offsetNs(Clock c) {
        return Math.floorDiv((peerReceived.get(c) - sent.get(c)) + (peerSent.get(c) - received.get(c)), 2);
    }

    /**
     * Time on the wire and in both stacks, in ns, measured on the monotonic clocks (the wall clock
     * may be stepped by NTP during the exchange).
     */
    public long roundTripNs() {
        return (received.monotonicNs() - sent.monotonicNs()) - (peerSent.monotonicNs() - peerReceived.monotonicNs());
    }
}
