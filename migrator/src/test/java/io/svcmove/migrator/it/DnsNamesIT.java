package io.svcmove.migrator.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.svcmove.testbed.Background;
import io.svcmove.testbed.BedStatus;
import io.svcmove.testbed.Downloads;
import io.svcmove.testbed.ExecResult;
import io.svcmove.testbed.Services;
import io.svcmove.testbed.TestBed;
import io.svcmove.testbed.Wait;
import io.svcmove.testbed.WithTestBed;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Issue 6: service names in the bed's BIND9. A service started with --dns resolves (dig and
 * dnsjava) to its VIP and is reached by name; a move sends no DNS message at all and the name and
 * the connection survive it; stop removes the name; `dns sync` reconciles; bad settings are clear
 * errors.
 */
@WithTestBed
class DnsNamesIT {
    /** The bed's second zone, which BIND serves with allow-update { none; } (test-vm/cluster). */
    private static final String READONLY_ZONE = "readonly.test.";

    @Test
    void aServiceIsReachedByNameThroughAMoveWithoutAnyDnsTraffic(TestBed bed) throws Exception {
        String n1 = It.node(bed, 0);
        String n2 = It.node(bed, 1);
        String fqdn = "itdnsmv." + bed.zone();
        Path pcap = Files.createTempFile("svcmove-it-dns-", ".pcap");
        Path out = Files.createTempFile("svcmove-it-dns-download-", ".bin");
        try (Site site = new Site(bed, "itdnsmv", bed.nextVip(), "4m").withBigFile(24)) {
            ExecResult run = site.run(n1, site.nginx(), "--dns", "itdnsmv");
            assertEquals(0, run.exitCode(), run.describe());
            assertTrue(run.stdout().contains(fqdn + " resolves to " + site.vip), run.describe());
            assertEquals(site.vip, dig(bed, fqdn, "A"), "dig from the client");
            assertEquals("\"svcmove-owner=itdnsmv\"", dig(bed, fqdn, "TXT"), "the owner's TXT record");
            assertTrue(lookupWithDnsjava(bed, fqdn).contains(site.vip), "dnsjava from the client: " + lookupWithDnsjava(bed, fqdn));
            assertEquals(fqdn, Services.on(bed, n1).get(site.name).path("dns").asText(), "status shows the name");
            Wait.until(It.SHORT, site.name + " answers by name", () -> It.httpCode(bed, "http://" + fqdn + "/index.html").equals("200"));

            // The client resolves the name once, then downloads over one connection.
            try (Background curl = bed.startBackground(bed.client(), "curl", "-sS", "--max-time", "120", "-o", out.toString(),
                    "http://" + fqdn + "/big.bin")) {
                Wait.until(It.SHORT, "the download by name has begun: " + curl.output(), () -> Downloads.size(out) > 0 || !curl.isAlive());
                assertTrue(curl.isAlive(), "curl downloads by name: " + curl.output());
                try (Background capture = bed.startBackground(dnsHost(bed), "tcpdump", "-i", "eth0", "-n", "-U", "-w",
                        pcap.toString(), "port", "53")) {
                    Wait.until(It.SHORT, "tcpdump listens in the dns host: " + capture.output(),
                            () -> capture.output().contains("listening on") || !capture.isAlive());
                    ExecResult move = bed.svcmove(n1, "move", site.name, n2);
                    assertEquals(0, move.exitCode(), move.describe());
                    Wait.sleep(500);
                    capture.stop();
                }
                String seen = bed.execOutside(It.SHORT, "tcpdump", "-n", "-r", pcap.toString()).stdout();
                assertEquals("", seen.strip(), "no DNS message reached the DNS server during the move");
                assertEquals(site.vip, dig(bed, fqdn, "A"), "after the move the name still resolves to the VIP");
                assertEquals(n2, Services.on(bed, n2).get(site.name).path("node").asText());
                assertEquals(fqdn, Services.on(bed, n2).get(site.name).path("dns").asText(), "the name moved with the record");
                curl.handle().onExit().get(90, java.util.concurrent.TimeUnit.SECONDS);
                assertEquals(site.bigSha256, Downloads.sha256(out), "the download by name survived the move intact: " + curl.output());
            }

            ExecResult stop = bed.svcmove(n2, "stop", site.name);
            assertEquals(0, stop.exitCode(), stop.describe());
            assertTrue(stop.stdout().contains(fqdn + " removed from DNS"), stop.describe());
            assertEquals("", dig(bed, fqdn, "A"), "the name is gone after stop");
            assertEquals("", dig(bed, fqdn, "TXT"), "the owner record is gone after stop");
            assertTrue(lookupWithDnsjava(bed, fqdn).contains("Host not found") || !lookupWithDnsjava(bed, fqdn).contains(site.vip),
                    "dnsjava no longer finds it");
        } finally {
            Files.deleteIfExists(pcap);
            Files.deleteIfExists(out);
        }
    }

    @Test
    void syncAddsWhatIsMissingAndRemovesOnlyWhatSvcmoveOwns(TestBed bed) {
        String n1 = It.node(bed, 0);
        String z = bed.zone();
        String vip = bed.nextVip();
        String ghostVip = bed.nextVip();
        try {
            ExecResult run = bed.svcmove(n1, "run", "itsync", "--vip", It.cidr(bed, vip), "--dns", "itsync", "--", "/bin/sleep", "300");
            assertEquals(0, run.exitCode(), run.describe());
            // The name lost behind svcmove's back, a stale svcmove name, and a name svcmove does not own.
            nsupdate(bed, "update delete itsync." + z,
                    "update add itghost." + z + " 60 A " + ghostVip, "update add itghost." + z + " 60 TXT \"svcmove-owner=itghost\"",
                    "update add itforeign." + z + " 60 A " + ghostVip);

            ExecResult dry = bed.svcmove(n1, "dns", "sync", "--dry-run", "--json");
            assertEquals(0, dry.exitCode(), dry.describe());
            JsonNode d = dry.json();
            assertEquals(List.of("itsync." + z), names(d.path("added")), "dry run would add: " + d);
            assertEquals(List.of("itghost." + z), names(d.path("removed")), "dry run would remove: " + d);
            assertEquals("", dig(bed, "itsync." + z, "A"), "a dry run changes nothing");
            assertEquals(ghostVip, dig(bed, "itghost." + z, "A"), "a dry run changes nothing");

            ExecResult sync = bed.svcmove(n1, "dns", "sync");
            assertEquals(0, sync.exitCode(), sync.describe());
            assertTrue(sync.stdout().contains("1 added, 1 removed"), sync.describe());
            assertEquals(vip, dig(bed, "itsync." + z, "A"), "sync put the service's name back");
            assertEquals("", dig(bed, "itghost." + z, "A"), "sync removed the stale svcmove name");
            assertEquals(ghostVip, dig(bed, "itforeign." + z, "A"), "sync left the name svcmove does not own");

            JsonNode again = bed.svcmove(n1, "dns", "sync", "--json").json();
            assertEquals(0, again.path("added").size() + again.path("removed").size(), "a second sync changes nothing: " + again);
        } finally {
            Services.stopEverywhere(bed, "itsync");
            nsupdate(bed, "update delete itforeign." + z, "update delete itghost." + z);
        }
    }

    @Test
    void badDnsSettingsAreClearErrors(TestBed bed) throws Exception {
        String n1 = It.node(bed, 0);
        String vip = bed.nextVip();
        // A name svcmove does not own (the bed's own record of node2): the start warns, the record stays.
        String taken = It.node(bed, 1);
        String before = dig(bed, taken + "." + bed.zone(), "A");
        try {
            ExecResult run = bed.svcmove(n1, "run", "itowned", "--vip", It.cidr(bed, vip), "--dns", taken, "--", "/bin/sleep", "60");
            assertEquals(0, run.exitCode(), run.describe());
            assertTrue(run.stderr().contains("warning") && run.stderr().contains("already exists in DNS")
                    && run.stderr().contains("does not own it"), run.describe());
            assertEquals(before, dig(bed, taken + "." + bed.zone(), "A"), "the name held by something else is untouched");
            ExecResult stop = bed.svcmove(n1, "stop", "itowned");
            assertEquals(0, stop.exitCode(), stop.describe());
            assertEquals(before, dig(bed, taken + "." + bed.zone(), "A"), "stop leaves it too");
        } finally {
            Services.stopEverywhere(bed, "itowned");
        }
        refusedRun(bed, n1, "web.example.org.", "not in the zone");

        Path dir = Files.createTempDirectory("svcmove-it-dnsconf-");
        try {
            Path wrongKey = dir.resolve("wrong.key");
            bed.execOutside(It.SHORT, "sh", "-c", "tsig-keygen -a hmac-sha256 \"$0\" > \"$1\"", bed.tsigKeyName(), wrongKey.toString())
                    .requireOk();
            String base = Files.readString(Path.of(Agents.of(bed, n1).config()));
            assertEquals(0, check(bed, n1, dir, base, null, null, null).exitCode(), "the bed's own settings pass");
            checkFails(bed, n1, dir, base, null, null, wrongKey.toString(), 3, "BADSIG");
            checkFails(bed, n1, dir, base, vip, null, null, 69, "did not answer within 2000 ms");
            checkFails(bed, n1, dir, base, null, "itnowhere.test.", null, 3, "NOTAUTH");
            checkFails(bed, n1, dir, base, null, READONLY_ZONE, null, 3, "REFUSED");
        } finally {
            bed.execOutside(It.SHORT, "rm", "-rf", dir.toString());
        }
    }

    private static void refusedRun(TestBed bed, String node, String dns, String cause) {
        List<String> cellsBefore = Services.cells(bed);
        ExecResult r = bed.svcmove(node, "run", "itbadname", "--vip", It.cidr(bed, bed.nextVip()), "--dns", dns, "--", "/bin/sleep", "60");
        assertEquals(3, r.exitCode(), r.describe());
        assertTrue(r.stderr().contains(cause), r.describe());
        assertEquals(cellsBefore, Services.cells(bed), "nothing was started");
    }

    /** `svcmove dns check` with the node's config, its [dns] server, zone or key file replaced. */
    private static ExecResult check(TestBed bed, String node, Path dir, String base, String server, String zone, String key)
            throws Exception {
        String conf = base;
        if (server != null) {
            conf = conf.replaceAll("(?m)^server\\s*=.*$", "server = \"" + server + "\"");
        }
        if (zone != null) {
            conf = conf.replaceAll("(?m)^zone\\s*=.*$", "zone = \"" + zone + "\"");
        }
        if (key != null) {
            conf = conf.replaceAll("(?m)^key_file\\s*=.*$", "key_file = \"" + key + "\"");
        }
        conf = conf.replaceAll("(?m)^\\[dns\\]$", "[dns]\ntimeout = \"2s\"");
        Path f = Files.createTempFile(dir, "agent-", ".toml");
        Files.writeString(f, conf);
        return bed.svcmove(node, "dns", "check", "--config", f.toString());
    }

    private static void checkFails(TestBed bed, String node, Path dir, String base, String server, String zone, String key,
            int code, String cause) throws Exception {
        long t0 = System.nanoTime();
        ExecResult r = check(bed, node, dir, base, server, zone, key);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(code, r.exitCode(), r.describe());
        assertTrue(r.stderr().contains(cause), "'" + cause + "' named:\n" + r.describe());
        assertFalse(r.timedOut(), r.describe());
        assertTrue(ms < 20_000, "bounded: " + ms + " ms");
    }

    private static String dnsHost(TestBed bed) {
        return bed.status().hosts().stream().filter(h -> h.role().equals("dns")).map(BedStatus.Host::name).findFirst().orElseThrow();
    }

    private static String dig(TestBed bed, String name, String type) {
        return bed.exec(bed.client(), It.SHORT, "dig", "+short", "+time=2", "+tries=1", name, type).requireOk().stdout().strip();
    }

    /** dnsjava's own lookup tool, on the client, with the client's resolv.conf. */
    private static String lookupWithDnsjava(TestBed bed, String name) {
        ExecResult r = bed.exec(bed.client(), It.SHORT, Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "org.xbill.DNS.tools.lookup", name);
        return r.stdout();
    }

    private static void nsupdate(TestBed bed, String... lines) {
        String script = "server " + bed.dnsServer() + "\nzone " + bed.zone() + "\n" + String.join("\n", lines) + "\nsend\n";
        bed.exec(bed.client(), It.SHORT, "sh", "-c", "printf '%s' \"$1\" | nsupdate -k \"$0\"", bed.tsigKeyFile().toString(), script)
                .requireOk();
    }

    private static List<String> names(JsonNode list) {
        return java.util.stream.StreamSupport.stream(list.spliterator(), false).map(n -> n.path("name").asText()).sorted().toList();
    }
}
