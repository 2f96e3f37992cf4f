package io.svcmove.testbed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
    void handsOutIpv6InTheFormIpPrints() {
        VipPool pool = new VipPool("fd53:7e57:0:1::100", "fd53:7e57:0:1::199");
        assertEquals("fd53:7e57:0:1::100", pool.next());
        for (int i = 1; i < 10; i++) {
            pool.next();
        }
        assertEquals("fd53:7e57:0:1::10a", pool.next()); // hexadecimal: ::100-::199 holds 0x9a = 154
        for (int i = 11; i < 0x9a; i++) {
            pool.next();
        }
        IllegalStateException e = assertThrows(IllegalStateException.class, pool::next);
        assertTrue(e.getMessage().contains("all 154 VIPs of fd53:7e57:0:1::100-fd53:7e57:0:1::199"), e.getMessage());
    }

    @Test
    void ipv6CrossesGroupsAndCompressesTheLongestZeroRun() {
        VipPool pool = new VipPool("FD53:0:0:1:0:0:0:ffff", "fd53::1:0:0:1:0");
        assertEquals("fd53:0:0:1::ffff", pool.next());
        assertEquals("fd53::1:0:0:1:0", pool.next());
        assertEquals("::", new VipPool("::", "::1").next());
        assertEquals("1:0:2:3:4:5:6:7", new VipPool("1:0:2:3:4:5:6:7", "1:0:2:3:4:5:6:7").next());
        assertEquals("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
                new VipPool("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff").next());
    }

    @Test
    void rejectsBadRanges() {
        assertThrows(IllegalArgumentException.class, () -> new VipPool("fd53::199", "fd53::100"));
        assertThrows(IllegalArgumentException.class, () -> new VipPool("198.18.0.100", "fd53::100"));
        assertThrows(IllegalArgumentException.class, () -> new VipPool("fd53::1::2", "fd53::3"));
        assertThrows(IllegalArgumentException.class, () -> new VipPool("fd53::g", "fd53::3"));
        assertThrows(IllegalArgumentException.class, () -> new VipPool("::ffff:198.18.0.1", "::ffff:198.18.0.2"));
        assertThrows(IllegalArgumentException.class, () -> new VipPool("fe80::1%eth0", "fe80::2"));
        assertThrows(IllegalArgumentException.class, () -> new VipPool("198.18.0.+1", "198.18.0.2"));
        assertThrows(IllegalArgumentException.class, () -> new VipPool("198.18.0.199", "198.18.0.100"));
        assertThrows(IllegalArgumentException.class, () -> new VipPool("198.18.0", "198.18.0.1"));
        assertThrows(IllegalArgumentException.class, () -> new VipPool("198.18.0.256", "198.18.0.1"));
        assertThrows(IllegalArgumentException.class, () -> new VipPool("198.18.0.x", "198.18.0.1"));
    }
}
