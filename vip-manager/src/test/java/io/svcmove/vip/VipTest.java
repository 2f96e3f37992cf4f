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
        "2001:db8::100       | no prefix length",
        "2001:db8::100/129   | /129",
        "2001:db8::100/1x    | bad prefix length",
        "2001:db8::/64       | subnet-router anycast",
        "2001:db8:::1/64     | not an IPv6 address",
        "2001:db8::g/64      | not an IPv6 address",
        "fe80::1%eth0/64     | no zone",
        "[2001:db8::1]/64    | no zone, brackets",
        "fe80::1/64          | fe80::/10",
        "ff02::1/64          | not a global or unique-local",
        "::1/128             | not a global or unique-local",
        "::/0                | ::",
        "::ffff:1.2.3.4/96   | IPv4-mapped",
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
    void ipv6VipsPrintInTheirShortForm() {
        Vip vip = Vip.parse("2001:0DB8:0000:0000:0000:0000:0000:0100/64");
        assertEquals("2001:db8::100/64", vip.toString());
        assertEquals("2001:db8::/64", vip.subnet().toString());
        assertTrue(vip.isIpv6());
        assertEquals("fd53:7e57:0:1::11", Vip.parse("fd53:7e57:0:1::11/64").addressText());
        assertEquals("2001:db8:0:1:1:1:1:1", Vip.parse("2001:db8:0:1:1:1:1:1/64").addressText(), "one zero group stays");
        assertEquals("2001:0:0:1::1", Vip.parse("2001:0:0:1:0:0:0:1/64").addressText(), "the longer run of zeros is shortened");
        assertEquals("2001:db8::1:0:0:1", Vip.parse("2001:db8:0:0:1:0:0:1/64").addressText(), "the first of equal runs");
        assertEquals("2001:db8::7/128", Vip.parse("2001:db8::7/128").toString());
    }

    @Test
    void ipv6MacComesFromTheLastFourBytesUnderItsOwnPrefix() {
        assertEquals("02:5d:00:00:01:00", Vip.parse("2001:db8::100/64").mac());
        assertEquals("02:5d:c6:12:00:64", Vip.parse("2001:db8::c612:64/64").mac(), "never the MAC of the IPv4 VIP with those bytes");
    }

    @Test
    void neverResolvesNames() {
        CellException e = assertThrows(CellException.class, () -> Vip.parse("localhost/24"));
        assertTrue(e.getMessage().contains("four numbers"), e.getMessage());
    }
}
