package io.svcmove.arp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.pcap4j.packet.EthernetPacket;
import org.pcap4j.packet.IcmpV6CommonPacket;
import org.pcap4j.packet.IcmpV6NeighborAdvertisementPacket;
import org.pcap4j.packet.IpV6NeighborDiscoveryTargetLinkLayerAddressOption;
import org.pcap4j.packet.IpV6Packet;
import org.pcap4j.packet.Packet;
import org.pcap4j.packet.namednumber.EtherType;
import org.pcap4j.packet.namednumber.IcmpV6Type;
import org.pcap4j.packet.namednumber.IpNumber;

class NeighborAdvertisementTest {
    private final Inet6Address vip = (Inet6Address) InetAddress.getByName("2001:db8:5c::64");
    private final byte[] mac = Announcement.parseMac("02:5c:20:01:00:64");
    private final InetAddress allNodes = InetAddress.getByName("ff02::1");

    NeighborAdvertisementTest() throws Exception {}

    /** Decoded from its bytes, as a receiver would see it. */
    private EthernetPacket decoded() throws Exception {
        byte[] raw = NeighborAdvertisement.unsolicited(vip, mac).getRawData();
        return EthernetPacket.newPacket(raw, 0, raw.length);
    }

    @Test
    void goesToAllNodesFromTheVipsOwnMac() throws Exception {
        EthernetPacket f = decoded();
        assertArrayEquals(new byte[] {0x33, 0x33, 0, 0, 0, 1}, f.getHeader().getDstAddr().getAddress());
        assertArrayEquals(mac, f.getHeader().getSrcAddr().getAddress());
        assertEquals(EtherType.IPV6, f.getHeader().getType());
        IpV6Packet.IpV6Header ip = f.get(IpV6Packet.class).getHeader();
        assertEquals(vip, ip.getSrcAddr());
        assertEquals(allNodes, ip.getDstAddr());
        assertEquals((byte) 255, ip.getHopLimit());
        assertEquals(IpNumber.ICMPV6, ip.getNextHeader());
        assertEquals(32, ip.getPayloadLength(), "8 bytes of ICMPv6, 16 of target, 8 of option");
        assertEquals(86, f.getRawData().length);
    }

    @Test
    void advertisesTheVipWithOverrideAndItsMac() throws Exception {
        EthernetPacket f = decoded();
        IcmpV6CommonPacket.IcmpV6CommonHeader icmp = f.get(IcmpV6CommonPacket.class).getHeader();
        assertEquals(IcmpV6Type.NEIGHBOR_ADVERTISEMENT, icmp.getType());
        assertEquals((byte) 0, icmp.getCode().value());
        IcmpV6NeighborAdvertisementPacket.IcmpV6NeighborAdvertisementHeader na =
                f.get(IcmpV6NeighborAdvertisementPacket.class).getHeader();
        assertFalse(na.getRouterFlag());
        assertFalse(na.getSolicitedFlag(), "unsolicited: neighbours must not take it as a reachability proof");
        assertTrue(na.getOverrideFlag(), "override: neighbours replace the MAC they cached");
        assertEquals(vip, na.getTargetAddress());
        assertEquals(1, na.getOptions().size());
        IpV6NeighborDiscoveryTargetLinkLayerAddressOption tlla =
                assertInstanceOf(IpV6NeighborDiscoveryTargetLinkLayerAddressOption.class, na.getOptions().get(0));
        assertArrayEquals(mac, tlla.getLinkLayerAddress());
        assertEquals(1, tlla.getLength(), "in units of 8 bytes");
        byte[] raw = f.getRawData();
        assertEquals(0x20, raw[58] & 0xff, "flags byte: R=0 S=0 O=1");
        assertEquals(2, raw[78], "option type: target link-layer address");
    }

    @Test
    void checksumCoversThePseudoHeader() throws Exception {
        byte[] raw = decoded().getRawData();
        int icmpAt = 14 + 40;
        int len = raw.length - icmpAt;
        int written = (raw[icmpAt + 2] & 0xff) << 8 | (raw[icmpAt + 3] & 0xff);
        byte[] icmp = Arrays.copyOfRange(raw, icmpAt, raw.length);
        icmp[2] = 0;
        icmp[3] = 0;
        // RFC 8200 8.1: source, destination, upper-layer length (32 bits), zeros and next header 58.
        long sum = sum16(vip.getAddress()) + sum16(allNodes.getAddress()) + len + 58 + sum16(icmp);
        while (sum > 0xffff) {
            sum = (sum & 0xffff) + (sum >>> 16);
        }
        assertEquals((int) (~sum & 0xffff), written);
        assertTrue(written != 0);
    }

    private static long sum16(byte[] b) {
        long s = 0;
        for (int i = 0; i < b.length; i += 2) {
            s += (b[i] & 0xff) << 8 | (i + 1 < b.length ? b[i + 1] & 0xff : 0);
        }
        return s;
    }

    @Test
    void anIpv6AnnouncementSendsOneAdvertisementPerSlotAndAnIpv4OneAPairOfArps() throws Exception {
        List<Packet> v6 = ArpAnnouncer.frames(Announcement.of(vip, "02:5c:20:01:00:64"));
        assertEquals(1, v6.size());
        assertArrayEquals(NeighborAdvertisement.unsolicited(vip, mac).getRawData(), v6.get(0).getRawData());
        List<Packet> v4 = ArpAnnouncer.frames(Announcement.of(InetAddress.getByName("198.18.0.100"), "02:5c:c6:12:00:64"));
        assertEquals(2, v4.size());
        assertEquals(EtherType.ARP, ((EthernetPacket) v4.get(0)).getHeader().getType());
    }

    @Test
    void anAnnouncementKeepsItsFamilyThroughANewBurst() {
        Announcement a = Announcement.of(vip, "02:5c:20:01:00:64").withBurst(2, Duration.ofMillis(50));
        assertEquals(vip, a.vip());
        assertEquals(2, a.repeats());
        assertThrows(IllegalArgumentException.class, () -> new Announcement(null, mac, 1, Duration.ZERO));
    }
}
