package io.svcmove.vip;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class VipsTest {

    @Test
    void aDualStackCellPutsItsIpv4VipFirstAndTakesItsMac() {
        Vips v = Vips.parse("2001:db8::100/64,198.18.0.100/24");
        assertEquals("198.18.0.100/24,2001:db8::100/64", v.toString());
        assertEquals("02:5c:c6:12:00:64", v.mac());
        assertEquals("2001:db8::100", v.ipv6().orElseThrow().addressText());
        assertEquals(v, Vips.parse(v.toString()), "what toString writes parses back (the service record keeps it as text)");
    }

    @Test
    void anIpv6OnlyCellTakesTheIpv6Mac() {
        Vips v = Vips.parse("2001:db8::100/64");
        assertTrue(v.ipv4().isEmpty());
        assertEquals("02:5d:00:00:01:00", v.mac());
    }

    @Test
    void atMostOneVipOfEachFamily() {
        CellException e = assertThrows(CellException.class, () -> Vips.parse("198.18.0.100/24,198.18.0.101/24"));
        assertTrue(e.getMessage().contains("both IPv4"), e.getMessage());
        assertThrows(CellException.class, () -> Vips.parse("198.18.0.100/24,2001:db8::1/64,2001:db8::2/64"));
        assertThrows(CellException.class, () -> new Vips(List.of()));
        assertThrows(CellException.class, () -> Vips.parse("198.18.0.100/24,"), "an empty part is a bad VIP");
    }
}
