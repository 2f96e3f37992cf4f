package io.svcmove.testbed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The netns bed as test-vm/cluster builds it: names, addresses (IPv4, IPv6), hostnames, DNS, a refused second up. */
@WithTestBed
class TestBedLifecycleIT {
    private static final Duration SHORT = Duration.ofSeconds(20);

    @Test
    void upWhenUpSaysSoAndChangesNothing(TestBed bed) {
        String cluster = bed.checkout().resolve("test-vm/cluster").toString();
        String before = snapshot(bed, cluster);
        ExecResult again = bed.execOutside(Duration.ofMinutes(1), cluster, "up", "--prefix", bed.prefix());
        assertEquals(1, again.exitCode(), again.describe());
        assertTrue(again.stderr().contains("already up"), again.describe());
        assertEquals(before, snapshot(bed, cluster));
    }

    /** The bed's status, its own netns (other beds may come and go meanwhile) and the machine's links. */
    private static String snapshot(TestBed bed, String cluster) {
        String p = bed.prefix();
        String netns = bed.execOutside(SHORT, "ip", "netns", "list").requireOk().stdout().lines()
                .map(l -> l.split(" ")[0])
                .filter(n -> bed.hosts().contains(n) || n.equals(p + "switch") || n.startsWith(p + "node"))
                .sorted()
                .collect(Collectors.joining("\n"));
        return bed.execOutside(SHORT, cluster, "status", "--json", "--prefix", p).requireOk().stdout()
                + netns + "\n"
                + bed.execOutside(SHORT, "ip", "-o", "link").requireOk().stdout();
    }

    @Test
    void statusMatchesTheLayout(TestBed bed) {
        String cluster = bed.checkout().resolve("test-vm/cluster").toString();
        BedStatus s = BedStatus.parse(
                bed.execOutside(SHORT, cluster, "status", "--json", "--prefix", bed.prefix()).requireOk().stdout());
        String p = bed.prefix();
        assertEquals("198.18.0.0/24", s.subnet());
        assertEquals(24, bed.prefixLength());
        assertEquals("svcmove.test.", bed.zone());
        assertEquals("198.18.0.2", bed.dnsServer());
        assertEquals("198.18.0.2", bed.address(p + "dns"));
        assertEquals("198.18.0.3", bed.address(bed.client()));
        List<String> nodes = bed.nodes();
        assertFalse(nodes.isEmpty());
        for (int k = 1; k <= nodes.size(); k++) {
            assertEquals(p + "node" + k, nodes.get(k - 1));
            assertEquals("198.18.0." + (10 + k), bed.address("node" + k));
            assertEquals("fd53:7e57:0:1::" + (10 + k), bed.address6("node" + k));
        }
        assertEquals("fd53:7e57:0:1::/64", s.ipv6().prefix());
        assertEquals(64, bed.prefixLength6());
        assertEquals("fd53:7e57:0:1::3", bed.address6(bed.client()));
        String netns = bed.execOutside(SHORT, "ip", "netns", "list").requireOk().stdout();
        for (BedStatus.Host h : s.hosts()) {
            assertTrue(netns.lines().anyMatch(l -> l.split(" ")[0].equals(h.netns())), h.netns() + " is not a netns");
        }
    }

    @Test
    void hostsHaveTheirOwnNameAndAddresses(TestBed bed) {
        for (String host : bed.hosts()) {
            assertEquals(host, bed.exec(host, SHORT, "hostname").requireOk().stdout().trim());
            String addrs = bed.exec(host, SHORT, "ip", "-4", "-o", "addr", "show", "dev", "eth0").requireOk().stdout();
            assertTrue(addrs.contains(" " + bed.address(host) + "/" + bed.prefixLength() + " "), addrs);
            String addrs6 = bed.exec(host, SHORT, "ip", "-6", "-o", "addr", "show", "dev", "eth0", "scope", "global")
                    .requireOk().stdout();
            assertEquals(1, addrs6.lines().count(), addrs6);
            assertTrue(addrs6.contains(" " + bed.address6(host) + "/" + bed.prefixLength6() + " "), addrs6);
            // Nothing but the bed changes the addresses: no router advertisements, no autoconf.
            assertEquals("0 0", bed.exec(host, SHORT, "sh", "-c", "echo $(cat /proc/sys/net/ipv6/conf/eth0/accept_ra"
                    + " /proc/sys/net/ipv6/conf/eth0/autoconf)").requireOk().stdout().trim(), host);
        }
        String last = bed.nodes().get(bed.nodes().size() - 1);
        bed.exec(bed.client(), SHORT, "ping", "-c", "1", "-W", "2", bed.address(last)).requireOk();
        bed.exec(bed.client(), SHORT, "ping", "-6", "-c", "1", "-W", "2", bed.address6(last)).requireOk();
    }

    /**
     * A cell made by hand (macvlan in bridge mode on the node's eth0, in a netns of its own, a VIP
     * added nodad) is reached from the client over IPv6 on the first node and again, same MAC, on
     * the last: the bridge gets the client's neighbour solicitation to the port the MAC moved to.
     */
    @Test
    void aCellsIpv6VipIsReachedOnTheNodeItMovedTo(TestBed bed) {
        String vip = bed.nextVip6();
        for (String node : List.of(bed.nodes().get(0), bed.nodes().get(bed.nodes().size() - 1))) {
            String cell = node + ".itv6";
            bed.execOutside(SHORT, "ip", "netns", "add", cell).requireOk();
            try {
                bed.execOutside(SHORT, "ip", "-n", node, "link", "add", "itv6", "link", "eth0", "address",
                        "02:53:00:00:06:01", "type", "macvlan", "mode", "bridge").requireOk();
                bed.execOutside(SHORT, "ip", "-n", node, "link", "set", "itv6", "netns", cell).requireOk();
                bed.execOutside(SHORT, "ip", "-n", cell, "addr", "add", vip + "/" + bed.prefixLength6(), "dev", "itv6",
                        "nodad").requireOk();
                bed.execOutside(SHORT, "ip", "-n", cell, "link", "set", "itv6", "up").requireOk();
                // No neighbour entry left from the node before: the client must solicit again.
                bed.exec(bed.client(), SHORT, "ip", "-6", "neigh", "flush", "dev", "eth0").requireOk();
                bed.exec(bed.client(), SHORT, "ping", "-6", "-c", "1", "-W", "2", vip).requireOk();
            } finally {
                bed.execOutside(SHORT, "ip", "netns", "del", cell).requireOk();
            }
        }
    }

    @Test
    void dnsTakesSignedUpdatesOnly(TestBed bed) {
        String name = "lifecycle-it." + bed.zone();
        String vip = bed.nextVip();
        String update = "server " + bed.dnsServer() + "\nzone " + bed.zone() + "\nupdate add " + name + " 60 A " + vip + "\nsend\n";
        ExecResult unsigned = bed.exec(bed.client(), SHORT, "sh", "-c", "printf '%s' \"$0\" | nsupdate", update);
        assertFalse(unsigned.ok(), "an update without the key was accepted");
        bed.exec(bed.client(), SHORT, "sh", "-c", "printf '%s' \"$0\" | nsupdate -k \"$1\"",
                update, bed.tsigKeyFile().toString()).requireOk();
        // The hosts' resolv.conf points at the bed's DNS.
        String answer = bed.exec(bed.nodes().get(0), SHORT, "dig", "+short", name).requireOk().stdout().trim();
        assertEquals(vip, answer);
    }

    @Test
    void execKillsWhatOutlivesItsTimeout(TestBed bed) throws Exception {
        String node = bed.nodes().get(0);
        ExecResult r = bed.exec(node, Duration.ofMillis(500), "sh", "-c", "echo $$; exec sleep 30");
        assertTrue(r.timedOut(), r.describe());
        long pid = Long.parseLong(r.stdout().trim());
        Await.upTo10s(() -> !bed.pids(node).contains(pid), "the timed-out command still runs on " + node);
    }

    @Test
    void backgroundCommandsCanBeReadAndStopped(TestBed bed) throws Exception {
        try (Background b = bed.startBackground(bed.client(), "sh", "-c", "hostname; exec sleep 30")) {
            Await.upTo10s(() -> b.output().contains(bed.client()), "no output: " + b.output());
            assertTrue(bed.pids(bed.client()).contains(b.pid()), "the command is not in the client's netns");
            b.stop();
            assertFalse(b.isAlive());
        }
    }
}
