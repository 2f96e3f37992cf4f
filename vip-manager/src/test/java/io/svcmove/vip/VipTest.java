package io.svcmove.vip;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class VipTest {

    @Test
    void parsesAddressAndPrefix() {
        Vip vip = Vip.parse(" 198.18.0.100/24 ");
        assertEquals("198.18.0.100", vip.addressText());
        assertEquals(24, vip.prefixLength());
        assertEquals("198.18.0.100/24", vip.toString());
        assertEquals("198.18.0.0/24", vip.subnet().toString());
    }

    @Test
    void macIsLocallyAdministeredUnicastFromTheAddress() {
        assertEquals("02:5c:c6:12:00:64", Vip.parse("198.18.0.100/24").mac());
        assertEquals("02:5c:0a:ff:00:01", Vip.parse("10.255.0.1/16").mac());
        int firstOctet = Integer.parseInt(Vip.parse("10.0.0.1/8").mac().substring(0, 2), 16);
        assertEquals(0b10, firstOctet & 0b11, "locally administered bit set, multicast bit clear");
    }

    @Test
    void sameVipSameMacOnEveryNode() {
        assertEquals(Vip.parse("198.18.0.150/24").mac(), Vip.parse("198.18.0.150/24").mac());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "198.18.0.100        | no prefix length",
        "198.18.0.100/       | bad prefix length",
        "198.18.0.100/33     | /33",
        "198.18.0.100/x      | bad prefix length",
        "198.18.0/24         | not an IPv4 address",
        "198.18.0.256/24     | 256 is above 255",
        "198.18.0.-1/24      | not an IPv4 address",
        "web.example/24      | not an IPv4 address",
        "198.18.0.0/24       | network or broadcast",
        "198.18.0.255/24     | network or broadcast",
        "127.0.0.5/8         | not a unicast host address",
        "224.0.0.5/24        | not a unicast host address",
    })
    void rejectsBadInputNamingTheProblem(String text, String expected) {
        CellException e = assertThrows(CellException.class, () -> Vip.parse(text));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }

    @Test
    void slash32AndSlash31HaveNoReservedAddresses() {
        assertEquals("198.18.0.0/31", Vip.parse("198.18.0.0/31").toString());
        assertEquals("198.18.0.7/32", Vip.parse("198.18.0.7/32").toString());
    }

    @Test
    void neverResolvesNames() {
        CellException e = assertThrows(CellException.class, () -> Vip.parse("localhost/24"));
        assertTrue(e.getMessage().contains("four numbers"), e.getMessage());
    }
}
