package io.svcmove.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.svcmove.testbed.ExecResult;
import io.svcmove.testbed.TestBed;
import io.svcmove.testbed.WithTestBed;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * DnsUpdater against the bed's BIND9: run from the client host (the server is reachable only from
 * the bed's namespaces) through {@link DnsProbe}, one JVM per call.
 */
@WithTestBed
class DnsUpdaterIT {
    /** The bed's second zone, which BIND serves with allow-update { none; } (test-vm/cluster). */
    private static final String READONLY_ZONE = "readonly.test.";
    private static final Duration CALL = Duration.ofSeconds(30);

    @Test
    void registerReplaceAndRemoveWithOwnership(TestBed bed) {
        String vip = bed.nextVip();
        String other = bed.nextVip();
        assertEquals("ADDED", ok(probe(bed, bed.dnsServer(), bed.zone(), key(bed), "register", "itdns", vip, "itdns")));
        assertEquals(vip, dig(bed, "itdns." + bed.zone(), "A"));
        assertEquals("\"svcmove-owner=itdns\"", dig(bed, "itdns." + bed.zone(), "TXT"));
        assertTrue(ok(probe(bed, bed.dnsServer(), bed.zone(), key(bed), "owned")).contains("itdns." + bed.zone() + " itdns [" + vip + "]"));

        assertEquals("UPDATED", ok(probe(bed, bed.dnsServer(), bed.zone(), key(bed), "register", "itdns", other, "itdns")));
        assertEquals(other, dig(bed, "itdns." + bed.zone(), "A"));

        // Another owner may neither take nor delete it.
        refused(probe(bed, bed.dnsServer(), bed.zone(), key(bed), "register", "itdns", vip, "thief"), "NAME_TAKEN", "itdns." + bed.zone());
        refused(probe(bed, bed.dnsServer(), bed.zone(), key(bed), "remove", "itdns", "thief"), "NAME_TAKEN", "itdns." + bed.zone());
        assertEquals(other, dig(bed, "itdns." + bed.zone(), "A"));

        assertEquals("REMOVED", ok(probe(bed, bed.dnsServer(), bed.zone(), key(bed), "remove", "itdns", "itdns")));
        assertEquals("", dig(bed, "itdns." + bed.zone(), "A"));
        assertEquals("ABSENT", ok(probe(bed, bed.dnsServer(), bed.zone(), key(bed), "remove", "itdns", "itdns")));
    }

    @Test
    void aDualStackNameKeepsExactlyTheGivenAddresses(TestBed bed) {
        String name = "itdual." + bed.zone();
        String v4 = bed.nextVip();
        String v6 = "fd53:7e57:0:1::150";
        assertEquals("ADDED", ok(probe(bed, bed.dnsServer(), bed.zone(), key(bed), "register", "itdual", v4 + "," + v6, "itdual")));
        assertEquals(v4, dig(bed, name, "A"));
        assertEquals(v6, dig(bed, name, "AAAA"));
        assertTrue(ok(probe(bed, bed.dnsServer(), bed.zone(), key(bed), "owned")).contains(name + " itdual [" + v4 + ", "
                + "fd53:7e57:0:1:0:0:0:150]"));

        // Another owner may neither take nor delete it, with either kind of address.
        refused(probe(bed, bed.dnsServer(), bed.zone(), key(bed), "register", "itdual", "fd53:7e57:0:1::151", "thief"),
                "NAME_TAKEN", name);
        refused(probe(bed, bed.dnsServer(), bed.zone(), key(bed), "remove", "itdual", "thief"), "NAME_TAKEN", name);
        assertEquals(v6, dig(bed, name, "AAAA"));

        // The service lost its IPv6 VIP: its AAAA goes with it.
        assertEquals("UPDATED", ok(probe(bed, bed.dnsServer(), bed.zone(), key(bed), "register", "itdual", v4, "itdual")));
        assertEquals(v4, dig(bed, name, "A"));
        assertEquals("", dig(bed, name, "AAAA"));

        assertEquals("UPDATED", ok(probe(bed, bed.dnsServer(), bed.zone(), key(bed), "register", "itdual", v4 + "," + v6, "itdual")));
        assertEquals(v6, dig(bed, name, "AAAA"));
        assertEquals("REMOVED", ok(probe(bed, bed.dnsServer(), bed.zone(), key(bed), "remove", "itdual", "itdual")));
        assertEquals("", dig(bed, name, "A"));
        assertEquals("", dig(bed, name, "AAAA"));
        assertEquals("", dig(bed, name, "TXT"));
    }

    @Test
    void aNameSvcmoveDoesNotOwnIsLeftAlone(TestBed bed) {
        String node = bed.nodes().get(0);
        String before = dig(bed, node + "." + bed.zone(), "A");
        refused(probe(bed, bed.dnsServer(), bed.zone(), key(bed), "register", node, bed.nextVip() + ",fd53:7e57:0:1::152", "itdns"),
                "NAME_TAKEN", node);
        refused(probe(bed, bed.dnsServer(), bed.zone(), key(bed), "remove", node, "itdns"), "NAME_TAKEN", node);
        assertEquals(before, dig(bed, node + "." + bed.zone(), "A"), "the bed's own record of " + node);
        assertEquals("", dig(bed, node + "." + bed.zone(), "AAAA"), "no AAAA added to " + node);
    }

    @Test
    void badConfigurationIsAClearError(TestBed bed) throws Exception {
        Path dir = Files.createTempDirectory("svcmove-dns-it-");
        try {
            Path wrongSecret = dir.resolve("wrong.key");
            Path unknownKey = dir.resolve("unknown.key");
            bed.execOutside(CALL, "sh", "-c", "tsig-keygen -a hmac-sha256 \"$0\" > \"$1\"", bed.tsigKeyName(), wrongSecret.toString()).requireOk();
            bed.execOutside(CALL, "sh", "-c", "tsig-keygen -a hmac-sha256 itunknown > \"$0\"", unknownKey.toString()).requireOk();
            String vip = bed.nextVip();
            refused(probe(bed, bed.dnsServer(), bed.zone(), wrongSecret.toString(), "register", "itbad", vip, "itbad"),
                    "KEY_REJECTED", "BADSIG");
            refused(probe(bed, bed.dnsServer(), bed.zone(), unknownKey.toString(), "register", "itbad", vip, "itbad"),
                    "KEY_REJECTED", "BADKEY");
            refused(probe(bed, bed.dnsServer(), "itnowhere.test.", key(bed), "register", "itbad", vip, "itbad"),
                    "NOT_AUTHORITATIVE", "NOTAUTH");
            refused(probe(bed, bed.dnsServer(), READONLY_ZONE, key(bed), "register", "itbad", vip, "itbad"), "REFUSED", "REFUSED");
            refused(probe(bed, bed.dnsServer(), READONLY_ZONE, key(bed), "check"), "REFUSED", "allow-update");
            refused(probe(bed, bed.dnsServer() + ":5399", bed.zone(), key(bed), "register", "itbad", vip, "itbad"),
                    "UNREACHABLE", "Connection refused");
            // An address of the bed's subnet where nothing answers: bounded by the 2 s timeout.
            String silent = vip;
            long t0 = System.nanoTime();
            refused(probe(bed, silent, bed.zone(), key(bed), "register", "itbad", vip, "itbad"), "UNREACHABLE", "2000 ms");
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(ms < 15_000, "an unreachable server fails within its timeout (and one JVM start): took " + ms + " ms");
            assertEquals("", dig(bed, "itbad." + bed.zone(), "A"), "nothing was added");
        } finally {
            bed.execOutside(CALL, "rm", "-rf", dir.toString());
        }
    }

    private static String key(TestBed bed) {
        return bed.tsigKeyFile().toString();
    }

    private static ExecResult probe(TestBed bed, String server, String zone, String keyFile, String... op) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), DnsProbe.class.getName(), server, zone, keyFile, "2s"));
        cmd.addAll(Arrays.asList(op));
        return bed.exec(bed.client(), CALL, cmd.toArray(String[]::new));
    }

    private static String ok(ExecResult r) {
        assertEquals(0, r.exitCode(), r.describe());
        return r.stdout().strip();
    }

    private static void refused(ExecResult r, String cause, String text) {
        assertEquals(3, r.exitCode(), r.describe());
        assertTrue(r.stderr().contains(cause + ": "), "cause " + cause + ":\n" + r.describe());
        assertTrue(r.stderr().contains(text), "'" + text + "' in the message:\n" + r.describe());
    }

    private static String dig(TestBed bed, String name, String type) {
        return bed.exec(bed.client(), CALL, "dig", "+short", "+time=2", "+tries=1", "@" + bed.dnsServer(), name, type)
                .requireOk().stdout().strip();
    }
}
