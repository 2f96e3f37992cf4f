package io.svcmove.migrator.announce;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.svcmove.testbed.Services;
import io.svcmove.testbed.TestBed;
import io.svcmove.testbed.Wait;
import io.svcmove.testbed.WithTestBed;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.pcap4j.packet.ArpPacket;
import org.pcap4j.packet.EthernetPacket;
import org.pcap4j.packet.namednumber.ArpOperation;
import org.pcap4j.util.MacAddress;

/**
 * Issue 5: after a move the destination announces the VIP with gratuitous ARP. Captured on the
 * bed's switch (every frame any host sends crosses br0), each frame is checked field by field,
 * and the burst's shape: a request and a reply at once, then 4 more pairs about 200 ms apart.
 */
@WithTestBed
class GratuitousArpIT {
    private static final int PAIRS = 5; // one at once + [move] arp_repeats = 4 by default
    private static final long INTERVAL_MS = 200; // [move] arp_interval_ms by default

    @Test
    void theDestinationAnnouncesTheVipWithFivePairsOfGratuitousArp(TestBed bed) throws Exception {
        String n1 = bed.nodes().get(0);
        String n2 = bed.nodes().get(1);
        String name = "itgarp";
        String vip = bed.nextVip();
        String vipMac = vipMac(vip);
        Path dir = Files.createTempDirectory("svcmove-garp-");
        Path pcap = dir.resolve("arp.pcap");
        Process tcpdump = null;
        try {
            Services.run(bed, n1, name, vip, "sleep", "86400");
            // The start announces the VIP too; let that burst end so only the move's is captured.
            Wait.sleep(2 * PAIRS * INTERVAL_MS);
            tcpdump = startCapture(bed, dir, pcap);
            long moveStarted = System.currentTimeMillis();
            Services.move(bed, n1, name, n2);
            // The repeats go on after the CLI returns: wait out the whole burst, with room to spare.
            Wait.sleep(PAIRS * INTERVAL_MS + 1500);
            stopCapture(tcpdump, dir);
            tcpdump = null;

            List<Frame> all = read(pcap);
            // Only the announcement: ARP whose sender and target are both the VIP. Other ARP on
            // the bridge (hosts resolving each other) is not the move's business.
            InetAddress vipAddr = InetAddress.getByName(vip);
            List<Frame> garp = all.stream()
                    .filter(f -> f.arp.getSrcProtocolAddr().equals(vipAddr) && f.arp.getDstProtocolAddr().equals(vipAddr))
                    .toList();
            String seen = describe(garp, moveStarted);
            System.out.println("GratuitousArpIT: gratuitous ARP for " + vip + " after the move started:\n" + seen);
            assertEquals(2 * PAIRS, garp.size(), "gratuitous ARP frames for " + vip + " on br0 after the move:\n" + seen
                    + "all ARP captured:\n" + describe(all, moveStarted));

            MacAddress mac = MacAddress.getByName(vipMac);
            List<Frame> requests = new ArrayList<>();
            List<Frame> replies = new ArrayList<>();
            for (Frame f : garp) {
                String what = "frame " + f + " of:\n" + seen;
                assertEquals(mac, f.eth.getSrcAddr(), "Ethernet source = the VIP's MAC in " + what);
                assertEquals(MacAddress.ETHER_BROADCAST_ADDRESS, f.eth.getDstAddr(), "Ethernet destination = broadcast in " + what);
                assertEquals(mac, f.arp.getSrcHardwareAddr(), "ARP sender MAC = the VIP's MAC in " + what);
                if (f.arp.getOperation().equals(ArpOperation.REQUEST)) {
                    assertEquals(MacAddress.getByName("00:00:00:00:00:00"), f.arp.getDstHardwareAddr(),
                            "a request's target MAC = 00:00:00:00:00:00 in " + what);
                    requests.add(f);
                } else if (f.arp.getOperation().equals(ArpOperation.REPLY)) {
                    assertEquals(MacAddress.ETHER_BROADCAST_ADDRESS, f.arp.getDstHardwareAddr(),
                            "a reply's target MAC = ff:ff:ff:ff:ff:ff in " + what);
                    replies.add(f);
                } else {
                    fail("opcode " + f.arp.getOperation() + " is neither request (1) nor reply (2) in " + what);
                }
            }
            assertEquals(PAIRS, requests.size(), "requests (opcode 1) among:\n" + seen);
            assertEquals(PAIRS, replies.size(), "replies (opcode 2) among:\n" + seen);

            // Each pair goes out at once; the pairs are INTERVAL_MS apart. Only the order of
            // magnitude is asserted: a loaded 2-core machine delays timers by tens of ms.
            for (int i = 0; i < PAIRS; i++) {
                double apart = Math.abs(requests.get(i).ms - replies.get(i).ms);
                assertTrue(apart < 50, "pair " + i + ": request and reply " + apart + " ms apart, expected at once:\n" + seen);
            }
            for (int i = 1; i < PAIRS; i++) {
                double gap = requests.get(i).ms - requests.get(i - 1).ms;
                assertTrue(gap >= INTERVAL_MS / 2 && gap <= INTERVAL_MS * 3,
                        "pair " + i + " came " + gap + " ms after pair " + (i - 1) + ", expected about " + INTERVAL_MS + ":\n" + seen);
            }
            double span = requests.get(PAIRS - 1).ms - requests.get(0).ms;
            double mean = span / (PAIRS - 1);
            assertTrue(mean >= INTERVAL_MS * 0.8 && mean <= INTERVAL_MS * 1.75,
                    "mean spacing " + mean + " ms, expected about " + INTERVAL_MS + ":\n" + seen);
        } finally {
            if (tcpdump != null) {
                tcpdump.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
            Services.stopEverywhere(bed, name);
            try (var files = Files.list(dir)) {
                for (Path p : files.toList()) {
                    Files.deleteIfExists(p);
                }
            }
            Files.deleteIfExists(dir);
        }
    }

    /** tcpdump on the switch's bridge, ARP only, each packet written at once (-U); ready when it says so. */
    private static Process startCapture(TestBed bed, Path dir, Path pcap) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("ip", "netns", "exec", bed.prefix() + "switch",
                "tcpdump", "-Z", "root", "-n", "-U", "-i", "br0", "-w", pcap.toString(), "arp")
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                .redirectOutput(dir.resolve("tcpdump.out").toFile())
                .redirectError(dir.resolve("tcpdump.err").toFile())
                .start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!Files.readString(dir.resolve("tcpdump.err")).contains("listening on")) {
            if (!p.isAlive() || System.nanoTime() > deadline) {
                p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                fail("tcpdump did not start capturing on " + bed.prefix() + "switch br0: "
                        + Files.readString(dir.resolve("tcpdump.err")));
            }
            Thread.sleep(50);
        }
        return p;
    }

    /** SIGTERM, so tcpdump flushes and closes the file; fails if it does not end. */
    private static void stopCapture(Process p, Path dir) throws Exception {
        p.destroy();
        if (!p.waitFor(10, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new TimeoutException("tcpdump outlived SIGTERM by 10 s: " + Files.readString(dir.resolve("tcpdump.err")));
        }
    }

    /** One captured ARP frame and when it crossed the bridge (ms since the epoch, µs precision). */
    private record Frame(double ms, EthernetPacket.EthernetHeader eth, ArpPacket.ArpHeader arp) {
        @Override
        public String toString() {
            return String.format("%s eth %s -> %s, sender %s/%s target %s/%s", arp.getOperation(), eth.getSrcAddr(),
                    eth.getDstAddr(), arp.getSrcProtocolAddr().getHostAddress(),
                    arp.getSrcHardwareAddr(), arp.getDstProtocolAddr().getHostAddress(), arp.getDstHardwareAddr());
        }
    }

    private static List<Frame> read(Path pcap) throws IOException {
        List<Frame> frames = new ArrayList<>();
        for (PcapFile.Frame f : PcapFile.read(pcap)) {
            EthernetPacket eth = f.packet().get(EthernetPacket.class);
            ArpPacket arp = f.packet().get(ArpPacket.class);
            if (eth != null && arp != null) {
                frames.add(new Frame(f.ms(), eth.getHeader(), arp.getHeader()));
            }
        }
        return frames;
    }

    private static String describe(List<Frame> frames, long sinceMs) {
        return frames.stream()
                .map(f -> String.format("  +%8.1f ms  %s", f.ms - sinceMs, f))
                .collect(Collectors.joining("\n", "", "\n"));
    }

    /** The MAC svcmove gives a VIP's cell: 02:5c: and the VIP's four bytes. */
    private static String vipMac(String vip) {
        StringBuilder mac = new StringBuilder("02:5c");
        for (String octet : vip.split("\\.")) {
            mac.append(String.format(":%02x", Integer.parseInt(octet)));
        }
        return mac.toString();
    }
}
