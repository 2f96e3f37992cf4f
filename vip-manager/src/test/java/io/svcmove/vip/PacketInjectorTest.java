package io.svcmove.vip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

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
}
