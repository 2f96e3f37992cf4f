package io.svcmove.vip;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.Inet4Address;
import org.junit.jupiter.api.Test;

class SubnetTest {

    private static Inet4Address ip(String s) {
        return Addresses.parseIpv4(s, "test");
    }

    @Test
    void containment() {
        Subnet s = Subnet.of(ip("198.18.0.11"), 24);
        assertEquals("198.18.0.0/24", s.toString());
        assertTrue(s.contains(ip("198.18.0.100")));
        assertTrue(s.contains(ip("198.18.0.255")));
        assertFalse(s.contains(ip("198.18.1.100")));
        assertFalse(s.contains(ip("10.0.0.1")));
    }

    @Test
    void oddPrefixes() {
        Subnet s = Subnet.of(ip("10.1.2.3"), 20);
        assertEquals("10.1.0.0/20", s.toString());
        assertTrue(s.contains(ip("10.1.15.254")));
        assertFalse(s.contains(ip("10.1.16.1")));
        assertTrue(Subnet.of(ip("1.2.3.4"), 0).contains(ip("200.1.1.1")));
        assertFalse(Subnet.of(ip("1.2.3.4"), 32).contains(ip("1.2.3.5")));
        assertTrue(Subnet.of(ip("255.255.255.255"), 1).contains(ip("128.0.0.0")));
    }

    @Test
    void reservedAddresses() {
        Subnet s = Subnet.of(ip("198.18.0.0"), 24);
        assertTrue(s.isReserved(ip("198.18.0.0")));
        assertTrue(s.isReserved(ip("198.18.0.255")));
        assertFalse(s.isReserved(ip("198.18.0.1")));
    }

    @Test
    void hostBitsAreRejectedInTheCanonicalForm() {
        CellException e = assertThrows(CellException.class, () -> new Subnet(ip("198.18.0.5"), 24));
        assertTrue(e.getMessage().contains("198.18.0.0/24"), e.getMessage());
    }
}
