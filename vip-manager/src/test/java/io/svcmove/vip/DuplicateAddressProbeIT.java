package io.svcmove.vip;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The IPv6 probe for real: one namespace asks about the other's address, and about a free one. */
class DuplicateAddressProbeIT {
    private final VethPair pair = new VethPair(1);
    private final DuplicateAddressProbe probe = new DuplicateAddressProbe(c -> VethPair.wrap(pair.a, c));

    @AfterEach
    void tearDown() {
        pair.close();
    }

    @Test
    void anAddressTheOtherSideHoldsIsInUseWithItsMac() {
        DuplicateAddressProbe.Answer answer = probe.probe(pair.aIf, pair.bAddr);
        assertTrue(answer.inUse(), answer.toString());
        assertEquals(List.of(pair.bMac), answer.macs());
    }

    @Test
    void anAddressNobodyHoldsIsFreeWithinTheProbesTime() {
        long t0 = System.nanoTime();
        DuplicateAddressProbe.Answer answer = probe.probe(pair.aIf, "2001:db8:6:1::99");
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertFalse(answer.inUse(), answer.toString());
        assertTrue(answer.macs().isEmpty());
        assertTrue(ms >= 1500 && ms < 4000, "two solicitations 1 s apart, not " + ms + " ms");
    }
}
