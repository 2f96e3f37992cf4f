package io.svcmove.migrator.move;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import org.junit.jupiter.api.Test;

class ForeignUidsTest {
    @Test
    void readsTheEffectiveCapabilityBit() {
        // Root in a container without CAP_SYS_RESOURCE (bit 24), as on the machines of DESIGN.md.
        assertFalse(ForeignUids.hasCapability("Name:\tjava\nCapEff:\t000001fffeffffff\n", 24));
        assertTrue(ForeignUids.hasCapability("CapEff:\t000001ffffffffff\n", 24));
        assertFalse(ForeignUids.hasCapability("Name:\tnothing\n", 24));
    }

    @Test
    void readsTheRealUid() {
        assertEquals(Optional.of(33L), ForeignUids.realUid("Name:\tapache2\nUid:\t33\t33\t33\t33\nGid:\t33\t33\t33\t33\n"));
        assertEquals(Optional.empty(), ForeignUids.realUid(""));
    }
}
