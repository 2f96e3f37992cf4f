package io.svcmove.migrator.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class PeerProbeTest {
    @Test
    void aPeerThatAnswersIsUpWithItsOffsetOneThatDoesNotIsDown() {
        PeerProbe probe = new PeerProbe(() -> List.of("node2", "node3"), peer -> {
            if (peer.equals("node3")) {
                throw new IOException("node3 did not answer");
            }
            return 0.002;
        });
        assertEquals(Map.of(), probe.states(), "nothing before the first probe");
        probe.probeAll();
        assertEquals(new PeerProbe.State(true, 0.002), probe.states().get("node2"));
        assertEquals(false, probe.states().get("node3").up());
    }

    @Test
    void eachProbeFollowsThePeerListAsReloaded() {
        AtomicReference<List<String>> peers = new AtomicReference<>(List.of("node2", "node3"));
        PeerProbe probe = new PeerProbe(peers::get, peer -> 0.001);
        probe.probeAll();
        peers.set(List.of("node2", "node4"));
        probe.probeAll();
        assertEquals(List.of("node2", "node4"), List.copyOf(probe.states().keySet()), "node4 measured, node3 no longer listed");
    }
}
