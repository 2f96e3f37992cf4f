package io.svcmove.vip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.Arrays;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

class PacketInjectorTest {
    /** A real TCP segment (198.18.0.3:45678 -> 198.18.0.100:7000, payload "7\n") with its correct checksum 0xba2f. */
    private static final String SEGMENT = "45000036a1b240004006704dc6120003c6120064b26e1b58"
            + "2a8e6f4b1c3d5e7f801801f6ba2f00000101080a000a8a5b000a8a2b370a";

    @Test
    void recomputesAPartialTcpChecksum() {
        byte[] good = HexFormat.of().parseHex(SEGMENT);
        byte[] partial = good.clone();
        // What offloading leaves: only the pseudo-header's sum, not the segment's.
        partial[36] = 0x12;
        partial[37] = 0x34;
        PacketInjector.fixChecksum(partial);
        assertArrayEquals(good, partial);
    }

    @Test
    void leavesOtherPacketsAlone() {
        byte[] icmp = HexFormat.of().parseHex("4500001c0000400040010000c6120003c61200640800f7ff00000000");
        byte[] copy = icmp.clone();
        PacketInjector.fixChecksum(copy);
        assertArrayEquals(icmp, copy);
    }

    private static final String CLIENT6 = "2001:db8:5c::3";
    private static final String VIP6 = "2001:db8:5c::64";
    private static final int IPV6_TCP_CHECKSUM = 40 + 16;
    private static final int IPV6_UDP_CHECKSUM = 40 + 6;

    @Test
    void recomputesAnIpv6TcpChecksum() {
        byte[] good = Ipv6Packets.tcpSyn(CLIENT6, VIP6, 45678, 7000);
        assertRepairs(good, IPV6_TCP_CHECKSUM, good[IPV6_TCP_CHECKSUM] ^ 0x5a, good[IPV6_TCP_CHECKSUM + 1]);
    }

    @Test
    void recomputesAnIpv6UdpChecksumOverAnOddPayloadAndIgnoresEthernetPadding() {
        byte[] good = Ipv6Packets.udp(CLIENT6, VIP6, 40000, 5353, "odd".getBytes());
        byte[] padded = Arrays.copyOf(good, good.length + 6);
        padded[good.length] = 0x77; // padding after the payload length is not part of the datagram
        assertRepairs(padded, IPV6_UDP_CHECKSUM, 0x12, 0x34);
    }

    @Test
    void givesAnIpv6UdpDatagramWithoutAChecksumOne() {
        assertRepairs(Ipv6Packets.udp(CLIENT6, VIP6, 40000, 5353, "hello".getBytes()), IPV6_UDP_CHECKSUM, 0, 0);
    }

    /** {@code good} with {@code hi lo} written at {@code at} is fixed back to {@code good}. */
    private static void assertRepairs(byte[] good, int at, int hi, int lo) {
        byte[] bad = good.clone();
        bad[at] = (byte) hi;
        bad[at + 1] = (byte) lo;
        assertNotEquals(Arrays.toString(good), Arrays.toString(bad));
        PacketInjector.fixChecksum(bad);
        assertArrayEquals(good, bad);
    }

    @Test
    void anIpv6UdpChecksumThatComputesToZeroIsSentAsAllOnes() {
        byte[] p = Ipv6Packets.udp(CLIENT6, VIP6, 40000, 5353, new byte[2]);
        // With a zero payload word the sum is ~checksum; a payload word of checksum makes it 0xffff, so ~sum = 0.
        p[48] = p[IPV6_UDP_CHECKSUM];
        p[49] = p[IPV6_UDP_CHECKSUM + 1];
        PacketInjector.fixChecksum(p);
        assertEquals(0xffff, (p[IPV6_UDP_CHECKSUM] & 0xff) << 8 | (p[IPV6_UDP_CHECKSUM + 1] & 0xff));
    }

    @Test
    void leavesIpv6PacketsWithExtensionHeadersAlone() {
        byte[] p = Ipv6Packets.udp(CLIENT6, VIP6, 40000, 5353, "hello".getBytes());
        p[6] = 0; // hop-by-hop options first: the UDP header is not where fixChecksum would write
        p[IPV6_UDP_CHECKSUM] = 0x12;
        byte[] copy = p.clone();
        PacketInjector.fixChecksum(copy);
        assertArrayEquals(p, copy);
    }

    @Test
    void sendsEachPacketToItsOwnDestination() {
        byte[] v4 = HexFormat.of().parseHex(SEGMENT);
        byte[] to4 = PacketInjector.destination(v4);
        assertEquals(16, to4.length);
        assertEquals(2, to4[0]);
        assertArrayEquals(new byte[] {(byte) 198, 18, 0, 100}, Arrays.copyOfRange(to4, 4, 8));
        byte[] v6 = Ipv6Packets.udp(CLIENT6, VIP6, 40000, 5353, new byte[0]);
        byte[] to6 = PacketInjector.destination(v6);
        assertEquals(28, to6.length);
        assertEquals(10, to6[0]);
        assertArrayEquals(Arrays.copyOfRange(v6, 24, 40), Arrays.copyOfRange(to6, 8, 24));
        assertArrayEquals(new byte[4], Arrays.copyOfRange(to6, 24, 28), "scope id 0");
        assertNull(PacketInjector.destination(Arrays.copyOf(v6, 39)));
        assertNull(PacketInjector.destination(new byte[] {0x50, 0, 0, 0}));
    }
}
