package io.svcmove.testbed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class VipPoolTest {
    @Test
    void handsOutEachAddressOnceInOrder() {
        VipPool pool = new VipPool("198.18.0.100", "198.18.0.199");
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 100; i++) {
            String vip = pool.next();
            assertEquals("198.18.0." + (100 + i), vip);
            seen.add(vip);
        }
        assertEquals(100, seen.size());
        IllegalStateException e = assertThrows(IllegalStateException.class, pool::next);
        assertEquals(true, e.getMessage().contains("198.18.0.100-198.18.0.199"), e.getMessage());
    }

    @Test
    void crossesOctetsAndHandlesHighAddresses() {
        VipPool pool = new VipPool("10.0.0.255", "10.0.1.0");
        assertEquals("10.0.0.255", pool.next());
        assertEquals("10.0.1.0", pool.next());
        assertEquals("255.255.255.255", new VipPool("255.255.255.255", "255.255.255.255").next());
    }

    @Test
    void rejectsBadRanges() {
        assertThrows(IllegalArgumentException.class, () -> new VipPool("198.18.0.199", "198.18.0.100"));
        assertThrows(IllegalArgumentException.class, () -> new VipPool("198.18.0", "198.18.0.1"));
        assertThrows(IllegalArgumentException.class, () -> new VipPool("198.18.0.256", "198.18.0.1"));
        assertThrows(IllegalArgumentException.class, () -> new VipPool("198.18.0.x", "198.18.0.1"));
    }
}
