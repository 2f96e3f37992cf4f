package io.svcmove.arp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.net.Inet4Address;
import java.net.InetAddress;
import org.pcap4j.packet.ArpPacket;
import org.pcap4j.packet.EthernetPacket;
import org.pcap4j.packet.namednumber.ArpOperation;
import org.pcap4j.packet.namednumber.EtherType;
import org.pcap4j.util.MacAddress;
import org.junit.jupiter.api.Test;

class GratuitousArpTest {
    private final Inet4Address vip = (Inet4Address) InetAddress.getByAddress(new byte[] {(byte) 198, 18, 0, 100});
    private final byte[] mac = Announcement.parseMac("02:5c:c6:12:00:64");

    GratuitousArpTest() throws Exception {}

    @Test
    void requestFormNamesTheVipAsSenderAndTargetFromItsOwnMac() {
        EthernetPacket f = GratuitousArp.request(vip, mac);
        assertEquals(MacAddress.ETHER_BROADCAST_ADDRESS, f.getHeader().getDstAddr());
        assertArrayEquals(mac, f.getHeader().getSrcAddr().getAddress());
        assertEquals(EtherType.ARP, f.getHeader().getType());
        ArpPacket.ArpHeader arp = f.get(ArpPacket.class).getHeader();
        assertEquals(ArpOperation.REQUEST, arp.getOperation());
        assertArrayEquals(mac, arp.getSrcHardwareAddr().getAddress());
        assertEquals(vip, arp.getSrcProtocolAddr());
        assertEquals(vip, arp.getDstProtocolAddr());
        assertArrayEquals(new byte[6], arp.getDstHardwareAddr().getAddress());
        assertEquals(60, f.getRawData().length, "padded to the Ethernet minimum");
    }

    @Test
    void replyFormIsBroadcastToo() {
        ArpPacket.ArpHeader arp = GratuitousArp.reply(vip, mac).get(ArpPacket.class).getHeader();
        assertEquals(ArpOperation.REPLY, arp.getOperation());
        assertEquals(MacAddress.ETHER_BROADCAST_ADDRESS, arp.getDstHardwareAddr());
        assertEquals(vip, arp.getSrcProtocolAddr());
    }

    @Test
    void rejectsMalformedMacs() {
        assertThrows(IllegalArgumentException.class, () -> Announcement.parseMac("02:5c:00"));
        assertThrows(IllegalArgumentException.class, () -> new Announcement(vip, new byte[5], 1, Announcement.DEFAULT_INTERVAL));
    }
}
