package io.svcmove.vip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * The checksum repair of buffered packets, on any bytes a captured frame may hold. It may only
 * touch the two bytes of a TCP or UDP checksum inside a well-formed, unfragmented IPv4 packet or
 * an IPv6 packet whose next header is TCP or UDP, and what it writes must verify by an
 * independent computation (RFC 1071/793/768, RFC 8200 8.1).
 */
class PacketInjectorFuzzTest {

    @FuzzTest(maxDuration = "10s")
    void fixChecksum(byte[] packet) {
        byte[] p = packet.clone();
        PacketInjector.fixChecksum(p);
        assertEquals(packet.length, p.length);

        int at = checksumOffset(packet);
        for (int i = 0; i < p.length; i++) {
            if (p[i] != packet[i]) {
                assertTrue(at >= 0 && (i == at || i == at + 1),
                        "byte " + i + " changed, outside the transport checksum (at " + at + ")");
            }
        }
        if (at >= 0) {
            boolean udpWithout = proto(packet) == 17 && packet[at] == 0 && packet[at + 1] == 0;
            if (!(v4(packet) && udpWithout)) {
                assertTrue(verifies(p), "the written checksum does not verify");
            }
            if (!v4(packet) && proto(packet) == 17) {
                assertTrue(p[at] != 0 || p[at + 1] != 0, "IPv6 UDP left without a checksum");
            }
        }
        byte[] again = p.clone();
        PacketInjector.fixChecksum(again);
        assertArrayEquals(p, again, "not idempotent");
    }

    private static boolean v4(byte[] p) {
        return (p[0] & 0xf0) == 0x40;
    }

    private static int proto(byte[] p) {
        return v4(p) ? p[9] & 0xff : p[6] & 0xff;
    }

    /** Where the TCP/UDP checksum lies, or -1 where no checksum may be written. */
    private static int checksumOffset(byte[] p) {
        if (p.length >= 40 && (p[0] & 0xf0) == 0x60) {
            int at = transportChecksum(proto(p), 40);
            return at < 0 || at + 2 > v6End(p) ? -1 : at;
        }
        if (p.length < 20 || !v4(p)) {
            return -1;
        }
        int ihl = (p[0] & 0x0f) * 4;
        if (ihl < 20) {
            return -1;
        }
        int total = Math.min(p.length, (p[2] & 0xff) << 8 | (p[3] & 0xff));
        boolean fragment = (p[6] & 0x20) != 0 || ((p[6] & 0x1f) << 8 | (p[7] & 0xff)) != 0;
        int at = transportChecksum(proto(p), ihl);
        return at < 0 || fragment || at + 2 > total ? -1 : at;
    }

    private static int transportChecksum(int proto, int l4) {
        return switch (proto) {
            case 6 -> l4 + 16;
            case 17 -> l4 + 6;
            default -> -1;
        };
    }

    /** IPv6: the payload length says where the packet ends, whatever padding follows. */
    private static int v6End(byte[] p) {
        return Math.min(p.length, 40 + ((p[4] & 0xff) << 8 | (p[5] & 0xff)));
    }

    /** The ones' complement sum of pseudo-header and segment is all ones. */
    private static boolean verifies(byte[] p) {
        boolean v4 = v4(p);
        int ihl = v4 ? (p[0] & 0x0f) * 4 : 40;
        int total = v4 ? Math.min(p.length, (p[2] & 0xff) << 8 | (p[3] & 0xff)) : v6End(p);
        long sum = 0;
        for (int i = v4 ? 12 : 8; i < (v4 ? 20 : 40); i++) {
            sum += (i % 2 == 0 ? (p[i] & 0xff) << 8 : p[i] & 0xff);
        }
        sum += proto(p) + (total - ihl);
        for (int i = ihl; i < total; i++) {
            sum += ((i - ihl) % 2 == 0 ? (p[i] & 0xff) << 8 : p[i] & 0xff);
        }
        while (sum > 0xffff) {
            sum = (sum & 0xffff) + (sum >>> 16);
        }
        return sum == 0xffff;
    }
}
