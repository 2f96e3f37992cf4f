package io.svcmove.vip;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Injection for real: datagrams as the buffer keeps them (an IPv6 one without its checksum, which
 * the stack would drop unrepaired, and an IPv4 one) are injected into a namespace of the test's
 * own, and sockets there bound to its addresses receive them.
 */
class PacketInjectorIT {
    private static final String IPV4 = "198.18.6.2";
    private static final int PORT = 5353;

    /** Receives one datagram on each of an IPv6 and an IPv4 socket; prints what and from whom. */
    private static final String RECEIVE = String.join("\n",
            "import select, socket, sys",
            "s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)",
            "s6.bind((sys.argv[1], int(sys.argv[3])))",
            "s4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)",
            "s4.bind((sys.argv[2], int(sys.argv[3])))",
            "print('listening', flush=True)",
            "waiting = [s6, s4]",
            "while waiting:",
            "    ready, _, _ = select.select(waiting, [], [], 5)",
            "    if not ready:",
            "        print('timeout', flush=True)",
            "        break",
            "    for s in ready:",
            "        data, peer = s.recvfrom(100)",
            "        print(data.decode(), peer[0], flush=True)",
            "        waiting.remove(s)");

    private final VethPair pair = new VethPair(2);

    @AfterEach
    void tearDown() {
        pair.close();
    }

    @Test
    void bothFamiliesReachTheirSocketsInTheNamespace() throws Exception {
        VethPair.in(pair.b, "ip", "addr", "add", IPV4 + "/24", "dev", pair.bIf);
        byte[] v6 = Ipv6Packets.udp(pair.aAddr, pair.bAddr, 40000, PORT, "over six".getBytes(StandardCharsets.UTF_8));
        v6[46] = 0;
        v6[47] = 0;
        // IPv4/UDP 198.18.6.1:40000 -> 198.18.6.2:5353, "over four", no UDP checksum; the kernel fills in the header's.
        byte[] v4 = HexFormat.of().parseHex("45000025000040004011000" + "0c6120601c6120602" + "9c4014e9001100006f76657220666f7572");
        Process receiver = new ProcessBuilder(VethPair.wrap(pair.b, List.of("/usr/bin/python3", "-c", RECEIVE, pair.bAddr, IPV4,
                String.valueOf(PORT)))).redirectErrorStream(true).start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(receiver.getInputStream(), StandardCharsets.UTF_8));
            assertEquals("listening", out.readLine());
            assertEquals(2, PacketInjector.inject(VethPair.path(pair.b), pair.b, List.of(v6, v4)));
            List<String> got = new ArrayList<>();
            for (String line; (line = out.readLine()) != null; ) {
                got.add(line);
            }
            assertTrue(receiver.waitFor(10, TimeUnit.SECONDS));
            got.sort(null);
            assertEquals(List.of("over four 198.18.6.1", "over six " + pair.aAddr), got);
        } finally {
            receiver.destroy();
        }
    }
}
