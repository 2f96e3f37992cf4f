package io.svcmove.vip;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import org.pcap4j.packet.IpV6Packet;
import org.pcap4j.packet.IpV6SimpleFlowLabel;
import org.pcap4j.packet.IpV6SimpleTrafficClass;
import org.pcap4j.packet.Packet;
import org.pcap4j.packet.TcpPacket;
import org.pcap4j.packet.UdpPacket;
import org.pcap4j.packet.UnknownPacket;
import org.pcap4j.packet.namednumber.IpNumber;
import org.pcap4j.packet.namednumber.IpVersion;
import org.pcap4j.packet.namednumber.TcpPort;
import org.pcap4j.packet.namednumber.UdpPort;

/** IPv6 packets built by Pcap4J, with the checksums it computes: an oracle independent of PacketInjector. */
final class Ipv6Packets {
    private Ipv6Packets() {}

    static byte[] udp(String src, String dst, int srcPort, int dstPort, byte[] payload) {
        Inet6Address s = v6(src);
        Inet6Address d = v6(dst);
        UdpPacket.Builder udp = new UdpPacket.Builder()
                .srcPort(UdpPort.getInstance((short) srcPort))
                .dstPort(UdpPort.getInstance((short) dstPort))
                .srcAddr(s)
                .dstAddr(d)
                .payloadBuilder(new UnknownPacket.Builder().rawData(payload))
                .correctLengthAtBuild(true)
                .correctChecksumAtBuild(true);
        return ip(s, d, IpNumber.UDP, udp);
    }

    static byte[] tcpSyn(String src, String dst, int srcPort, int dstPort) {
        Inet6Address s = v6(src);
        Inet6Address d = v6(dst);
        TcpPacket.Builder tcp = new TcpPacket.Builder()
                .srcPort(TcpPort.getInstance((short) srcPort))
                .dstPort(TcpPort.getInstance((short) dstPort))
                .sequenceNumber(0x2a8e6f4b)
                .syn(true)
                .window((short) 64240)
                .srcAddr(s)
                .dstAddr(d)
                .correctLengthAtBuild(true)
                .correctChecksumAtBuild(true);
        return ip(s, d, IpNumber.TCP, tcp);
    }

    private static byte[] ip(Inet6Address src, Inet6Address dst, IpNumber next, Packet.Builder payload) {
        return new IpV6Packet.Builder()
                .version(IpVersion.IPV6)
                .trafficClass(IpV6SimpleTrafficClass.newInstance((byte) 0))
                .flowLabel(IpV6SimpleFlowLabel.newInstance(0))
                .nextHeader(next)
                .hopLimit((byte) 64)
                .srcAddr(src)
                .dstAddr(dst)
                .payloadBuilder(payload)
                .correctLengthAtBuild(true)
                .build()
                .getRawData();
    }

    private static Inet6Address v6(String literal) {
        try {
            return (Inet6Address) InetAddress.getByName(literal);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(literal, e);
        }
    }
}
