package io.svcmove.arp;

import java.net.Inet4Address;
import org.pcap4j.packet.ArpPacket;
import org.pcap4j.packet.EthernetPacket;
import org.pcap4j.packet.namednumber.ArpHardwareType;
import org.pcap4j.packet.namednumber.ArpOperation;
import org.pcap4j.packet.namednumber.EtherType;
import org.pcap4j.util.MacAddress;

/**
 * The two forms of a gratuitous ARP for a VIP, broadcast from the VIP's own MAC: a request
 * (sender = target = VIP; what Linux and keepalived send) and a reply (some switches and old
 * stacks only learn from replies). Both carry the VIP's MAC as Ethernet source, which is what
 * makes the switch learn the VIP's new port.
 */
public final class GratuitousArp {
    private GratuitousArp() {}

    public static EthernetPacket request(Inet4Address vip, byte[] mac) {
        return frame(ArpOperation.REQUEST, vip, mac, MacAddress.getByAddress(new byte[6]));
    }

    public static EthernetPacket reply(Inet4Address vip, byte[] mac) {
        return frame(ArpOperation.REPLY, vip, mac, MacAddress.ETHER_BROADCAST_ADDRESS);
    }

    private static EthernetPacket frame(ArpOperation op, Inet4Address vip, byte[] mac, MacAddress targetMac) {
        MacAddress src = MacAddress.getByAddress(mac);
        ArpPacket.Builder arp = new ArpPacket.Builder()
                .hardwareType(ArpHardwareType.ETHERNET)
                .protocolType(EtherType.IPV4)
                .hardwareAddrLength((byte) MacAddress.SIZE_IN_BYTES)
                .protocolAddrLength((byte) 4)
                .operation(op)
                .srcHardwareAddr(src)
                .srcProtocolAddr(vip)
                .dstHardwareAddr(targetMac)
                .dstProtocolAddr(vip);
        return new EthernetPacket.Builder()
                .dstAddr(MacAddress.ETHER_BROADCAST_ADDRESS)
                .srcAddr(src)
                .type(EtherType.ARP)
                .payloadBuilder(arp)
                .paddingAtBuild(true)
                .build();
    }
}
