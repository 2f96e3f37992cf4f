package io.svcmove.migrator.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.svcmove.migrator.announce.PcapFile;
import io.svcmove.testbed.ExecResult;
import io.svcmove.testbed.Services;
import io.svcmove.testbed.TestBed;
import io.svcmove.testbed.Wait;
import io.svcmove.testbed.WithTestBed;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Issue 19, IPv6 VIPs on the layer-2 bed (its ULA /64): nginx at an IPv6 VIP keeps a client's
 * download over IPv6 through moves both ways, announced at each takeover by unsolicited neighbour
 * advertisements (captured on the switch); a dual-stack service keeps an IPv4 and an IPv6 client
 * through a move, with A and AAAA records; an IPv4-only cell has no IPv6; bad IPv6 VIPs are refused.
 */
@WithTestBed
class Ipv6IT {
    private static final int ADVERTISEMENTS = 5; // one at once + [move] arp_repeats = 4, as gratuitous ARP

    @Test
    void anIpv6DownloadSurvivesMovesBothWaysAnnouncedByNeighbourAdvertisements(TestBed bed) throws Exception {
        assumeTrue(bed.hasIpv6(), "the bed has IPv6 (the netns bed)");
        String n1 = It.node(bed, 0);
        String n2 = It.node(bed, 1);
        Path dir = Files.createTempDirectory("svcmove-it-na-");
        Path pcap = dir.resolve("na.pcap");
        Capture capture = null;
        try (Site site = new Site(bed, "itv6", bed.nextVip6(), "8m").withBigFile(100)) {
            site.start(n1);
            String cell = cellOf(bed, n1, site.name);
            assertFalse(bed.execOutside(It.SHORT, "ip", "netns", "exec", cell, "ip", "-6", "addr", "show", "dev", "eth0")
                    .requireOk().stdout().contains("tentative"), "the VIP is usable at once (nodad), not tentative");
            assertTrue(bed.execOutside(It.SHORT, "ip", "netns", "exec", cell, "ip", "-4", "addr", "show", "dev", "eth0")
                    .requireOk().stdout().isBlank(), "an IPv6-only cell has no IPv4 address");
            try (Download download = Download.start(site)) {
                Wait.sleep(2000);
                capture = Capture.start(bed, dir, pcap);
                Services.move(bed, n1, site.name, n2);
                assertEquals(Map.of(n2, "running"), Services.whereIs(bed, site.name), "after the move to " + n2);
                assertTrue(download.running(), "the IPv6 download goes on after the move to " + n2 + ": " + download.describe());
                Wait.sleep(ADVERTISEMENTS * 200 + 1500); // the burst's repeats outlast the CLI call
                capture.stop();
                capture = null;
                List<Advertisement> na = advertisements(pcap, InetAddress.getByName(site.vip));
                String seen = String.join("\n", na.stream().map(Advertisement::toString).toList());
                System.out.println("Ipv6IT: neighbour advertisements for " + site.vip + " after the move:\n" + seen);
                assertEquals(ADVERTISEMENTS, na.size(), "unsolicited NAs for " + site.vip + " on the switch:\n" + seen);
                String mac = vipMac(site.vip);
                for (Advertisement a : na) {
                    assertEquals(mac, a.ethSource, "Ethernet source = the cell's MAC: " + a);
                    assertEquals("33:33:00:00:00:01", a.ethDestination, "to all nodes: " + a);
                    assertEquals(255, a.hopLimit, "hop limit 255, or receivers drop it: " + a);
                    assertTrue(a.override && !a.solicited && !a.router, "unsolicited, override set, not a router: " + a);
                    assertEquals(mac, a.targetLinkLayer, "the target link-layer option names the cell's MAC: " + a);
                }
                Services.move(bed, n2, site.name, n1);
                assertEquals(Map.of(n1, "running"), Services.whereIs(bed, site.name), "after the move back to " + n1);
                download.assertCompletes(Duration.ofSeconds(120));
            }
            String neigh = bed.exec(bed.client(), It.SHORT, "ip", "-6", "neigh", "show", site.vip).requireOk().stdout();
            assertTrue(neigh.contains(vipMac(site.vip)), "the client's neighbour entry for the VIP: " + neigh);
        } finally {
            if (capture != null) {
                capture.stop();
            }
            It.deleteTree(dir);
        }
    }

    @Test
    void aDualStackServiceKeepsItsIpv4AndIpv6ClientsAndBothRecords(TestBed bed) {
        assumeTrue(bed.hasIpv6(), "the bed has IPv6 (the netns bed)");
        String n1 = It.node(bed, 0);
        String n2 = It.node(bed, 1);
        String fqdn = "itdual." + bed.zone();
        try (Site site = new Site(bed, "itdual", List.of(bed.nextVip(), bed.nextVip6()), "4m").withBigFile(40)) {
            String v4 = site.vips.get(0);
            String v6 = site.vips.get(1);
            ExecResult run = site.run(n1, site.nginx(), "--dns", "itdual");
            assertEquals(0, run.exitCode(), run.describe());
            assertTrue(run.stdout().contains(fqdn + " resolves to " + v4 + ", " + v6), run.describe());
            assertEquals(v4, dig(bed, fqdn, "A"), "the A record");
            assertEquals(v6, dig(bed, fqdn, "AAAA"), "the AAAA record");
            Wait.until(It.SHORT, site.name + " answers at both VIPs", () -> It.httpCode(bed, site.url(v4, "index.html")).equals("200")
                    && It.httpCode(bed, site.url(v6, "index.html")).equals("200"));
            assertEquals(It.cidr(bed, v4) + "," + It.cidr(bed, v6), Services.on(bed, n1).get(site.name).path("vip").asText(),
                    "status gives both VIPs");
            try (Download over4 = Download.start(site, v4); Download over6 = Download.start(site, v6)) {
                Services.move(bed, n1, site.name, n2);
                assertTrue(over4.running() && over6.running(), "both downloads go on after the move: IPv4 " + over4.describe()
                        + ", IPv6 " + over6.describe());
                over4.assertCompletes(Duration.ofSeconds(90));
                over6.assertCompletes(Duration.ofSeconds(90));
            }
            assertEquals(v6, dig(bed, fqdn, "AAAA"), "the AAAA record is untouched by the move");
            bed.svcmove(n2, "stop", site.name).requireOk();
            assertEquals("", dig(bed, fqdn, "A"), "stop removes the A record");
            assertEquals("", dig(bed, fqdn, "AAAA"), "and the AAAA record");
        }
    }

    @Test
    void anIpv4OnlyCellHasNoIpv6(TestBed bed) {
        String n1 = It.node(bed, 0);
        String name = "itv4only";
        try {
            Services.run(bed, n1, name, bed.nextVip(), "sleep", "600");
            String cell = cellOf(bed, n1, name);
            assertEquals("1", bed.execOutside(It.SHORT, "ip", "netns", "exec", cell, "sysctl", "-n", "net.ipv6.conf.eth0.disable_ipv6")
                    .requireOk().stdout().strip(), "IPv6 is off on the cell's eth0");
            assertTrue(bed.execOutside(It.SHORT, "ip", "netns", "exec", cell, "ip", "-6", "addr", "show", "dev", "eth0")
                    .requireOk().stdout().isBlank(), "not even a link-local address");
        } finally {
            Services.stopEverywhere(bed, name);
        }
    }

    @Test
    void badIpv6VipsAreRefusedNamingTheCauseAndChangeNothing(TestBed bed) {
        assumeTrue(bed.hasIpv6(), "the bed has IPv6 (the netns bed)");
        String n1 = It.node(bed, 0);
        ExecResult outside = bed.svcmove(n1, "run", "itv6bad", "--vip", "2001:db8:99::100/64", "--", "sleep", "60");
        assertEquals(3, outside.exitCode(), outside.describe());
        assertTrue(outside.stderr().contains("outside the IPv6 prefixes of"), outside.describe());
        ExecResult malformed = bed.svcmove(n1, "run", "itv6bad", "--vip", "fd53:7e57:0:1::zz/64", "--", "sleep", "60");
        assertEquals(3, malformed.exitCode(), malformed.describe());
        assertTrue(malformed.stderr().contains("is not an IPv6 address"), malformed.describe());
        ExecResult two = bed.svcmove(n1, "run", "itv6bad", "--vip", It.cidr(bed, bed.nextVip6()), "--vip", It.cidr(bed, bed.nextVip6()),
                "--", "sleep", "60");
        assertEquals(3, two.exitCode(), two.describe());
        assertTrue(two.stderr().contains("at most one VIP of each family"), two.describe());

        // An address a host already answers for: the client takes it, as a misconfigured server would.
        String taken = bed.nextVip6();
        String dev = "eth0";
        bed.exec(bed.client(), It.SHORT, "ip", "-6", "addr", "add", It.cidr(bed, taken), "dev", dev, "nodad").requireOk();
        try {
            ExecResult dup = bed.svcmove(n1, "run", "itv6bad", "--vip", It.cidr(bed, taken), "--", "sleep", "60");
            assertEquals(3, dup.exitCode(), dup.describe());
            assertTrue(dup.stderr().contains(taken + " is already in use"), dup.describe());
        } finally {
            bed.exec(bed.client(), It.SHORT, "ip", "-6", "addr", "del", It.cidr(bed, taken), "dev", dev);
        }
        assertTrue(Services.cells(bed).stream().noneMatch(c -> c.endsWith(".itv6bad")), "no cell left: " + Services.cells(bed));
        assertTrue(Services.whereIs(bed, "itv6bad").isEmpty(), "no service recorded");
    }

    private static String cellOf(TestBed bed, String node, String service) {
        return Services.cells(bed).stream().filter(c -> c.startsWith(node) && c.endsWith("." + service)).findFirst()
                .orElseThrow(() -> new AssertionError("no cell of " + service + " on " + node + ": " + Services.cells(bed)));
    }

    private static String dig(TestBed bed, String name, String type) {
        return bed.exec(bed.client(), It.SHORT, "dig", "+short", "+time=2", "+tries=1", name, type).requireOk().stdout().strip();
    }

    /** svcmove's MAC for an IPv6-only cell: 02:5d: and the address's last four bytes. */
    private static String vipMac(String vip) throws IOException {
        byte[] b = InetAddress.getByName(vip).getAddress();
        return String.format("02:5d:%02x:%02x:%02x:%02x", b[12] & 0xff, b[13] & 0xff, b[14] & 0xff, b[15] & 0xff);
    }

    /** One captured neighbour advertisement, its fields read from the frame's bytes. */
    private record Advertisement(String ethSource, String ethDestination, int hopLimit, boolean router, boolean solicited,
            boolean override, InetAddress target, String targetLinkLayer) {
        static Advertisement of(byte[] f) throws IOException {
            int icmp = 14 + 40;
            int flags = f[icmp + 4] & 0xff;
            String tll = null;
            for (int at = icmp + 24; at + 8 <= f.length && f[at + 1] != 0; at += (f[at + 1] & 0xff) * 8) {
                if (f[at] == 2) {
                    tll = mac(f, at + 2);
                }
            }
            return new Advertisement(mac(f, 6), mac(f, 0), f[14 + 7] & 0xff, (flags & 0x80) != 0, (flags & 0x40) != 0,
                    (flags & 0x20) != 0, InetAddress.getByAddress(Arrays.copyOfRange(f, icmp + 8, icmp + 24)), tll);
        }

        private static String mac(byte[] f, int at) {
            return String.format("%02x:%02x:%02x:%02x:%02x:%02x", f[at], f[at + 1], f[at + 2], f[at + 3], f[at + 4], f[at + 5]);
        }
    }

    /** The NAs in PCAP whose target is VIP and that were sent unsolicited (to all nodes). */
    private static List<Advertisement> advertisements(Path pcap, InetAddress vip) throws IOException {
        List<Advertisement> out = new ArrayList<>();
        for (PcapFile.Frame frame : PcapFile.read(pcap)) {
            byte[] f = frame.packet().getRawData();
            if (f.length >= 14 + 40 + 24) {
                Advertisement a = Advertisement.of(f);
                if (a.target.equals(vip) && !a.solicited) {
                    out.add(a);
                }
            }
        }
        return out;
    }

    /** tcpdump on the switch's bridge, neighbour advertisements only (ICMPv6 type 136 right after the IPv6 header). */
    private record Capture(Process process, Path dir) {
        static Capture start(TestBed bed, Path dir, Path pcap) throws IOException, InterruptedException {
            Process p = new ProcessBuilder("ip", "netns", "exec", bed.prefix() + "switch", "tcpdump", "-Z", "root", "-n", "-U",
                    "-i", "br0", "-w", pcap.toString(), "icmp6 and ip6[40] == 136")
                    .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                    .redirectOutput(dir.resolve("tcpdump.out").toFile())
                    .redirectError(dir.resolve("tcpdump.err").toFile())
                    .start();
            Capture c = new Capture(p, dir);
            Wait.until(Duration.ofSeconds(10), "tcpdump captures on the switch", () -> {
                try {
                    return !p.isAlive() || Files.readString(dir.resolve("tcpdump.err")).contains("listening on");
                } catch (IOException e) {
                    return false;
                }
            });
            if (!p.isAlive()) {
                throw new IOException("tcpdump did not start on the switch: " + Files.readString(dir.resolve("tcpdump.err")));
            }
            return c;
        }

        /** SIGTERM, so tcpdump flushes the file. */
        void stop() throws InterruptedException {
            process.destroy();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        }
    }
}
