package io.svcmove.arp;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import org.pcap4j.packet.EthernetPacket;
import org.pcap4j.packet.IcmpV6CommonPacket;
import org.pcap4j.packet.IcmpV6NeighborAdvertisementPacket;
import org.pcap4j.packet.IpV6NeighborDiscoveryTargetLinkLayerAddressOption;
import org.pcap4j.packet.IpV6Packet;
import org.pcap4j.packet.IpV6SimpleFlowLabel;
import org.pcap4j.packet.IpV6SimpleTrafficClass;
import org.pcap4j.packet.namednumber.EtherType;
import org.pcap4j.packet.namednumber.IcmpV6Code;
import org.pcap4j.packet.namednumber.IcmpV6Type;
import org.pcap4j.packet.namednumber.IpNumber;
import org.pcap4j.packet.namednumber.IpVersion;
import org.pcap4j.util.MacAddress;

/**
 * IPv6's gratuitous ARP (RFC 4861 7.2.6): an unsolicited neighbour advertisement to all nodes,
 * from the VIP's own MAC, with the override flag so neighbours replace the MAC they cached, and
 * the target link-layer address option that carries the new MAC.
 */
public final class NeighborAdvertisement {
    /** ff02::1; its Ethernet group 33:33:00:00:00:01 (RFC 2464: 33:33 and the low 32 bits). */
    static final Inet6Address ALL_NODES = allNodes();
    static final MacAddress ALL_NODES_MAC = MacAddress.getByAddress(new byte[] {0x33, 0x33, 0, 0, 0, 1});
    /** Neighbour discovery is only believed from hop limit 255: proof that no router forwarded it. */
    private static final byte HOP_LIMIT = (byte) 255;

    private NeighborAdvertisement() {}

    public static EthernetPacket unsolicited(Inet6Address vip, byte[] mac) {
        MacAddress src = MacAddress.getByAddress(mac);
        IpV6NeighborDiscoveryTargetLinkLayerAddressOption tlla = new IpV6NeighborDiscoveryTargetLinkLayerAddressOption.Builder()
                .linkLayerAddress(mac)
                .correctLengthAtBuild(true)
                .build();
        IcmpV6NeighborAdvertisementPacket.Builder na = new IcmpV6NeighborAdvertisementPacket.Builder()
                .routerFlag(false)
                .solicitedFlag(false)
                .overrideFlag(true)
                .targetAddress(vip)
                .options(List.of(tlla));
        IcmpV6CommonPacket.Builder icmp = new IcmpV6CommonPacket.Builder()
                .type(IcmpV6Type.NEIGHBOR_ADVERTISEMENT)
                .code(IcmpV6Code.NO_CODE)
                .srcAddr(vip)
                .dstAddr(ALL_NODES)
                .payloadBuilder(na)
                .correctChecksumAtBuild(true);
        IpV6Packet.Builder ip = new IpV6Packet.Builder()
                .version(IpVersion.IPV6)
                .trafficClass(IpV6SimpleTrafficClass.newInstance((byte) 0))
                .flowLabel(IpV6SimpleFlowLabel.newInstance(0))
                .nextHeader(IpNumber.ICMPV6)
                .hopLimit(HOP_LIMIT)
                .srcAddr(vip)
                .dstAddr(ALL_NODES)
                .payloadBuilder(icmp)
                .correctLengthAtBuild(true);
        return new EthernetPacket.Builder()
                .dstAddr(ALL_NODES_MAC)
                .srcAddr(src)
                .type(EtherType.IPV6)
                .payloadBuilder(ip)
                .paddingAtBuild(true)
                .build();
    }

    private static Inet6Address allNodes() {
        try {
            return (Inet6Address) InetAddress.getByName("ff02::1");
        } catch (UnknownHostException e) {
            throw new AssertionError("a literal address needs no lookup", e);
        }
    }
}
