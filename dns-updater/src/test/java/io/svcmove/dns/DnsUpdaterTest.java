package io.svcmove.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Section;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.Type;
import org.xbill.DNS.Update;

class DnsUpdaterTest {
    private static final Name ZONE = Name.fromConstantString("svcmove.test.");
    private static final Name WEB = Name.fromConstantString("web.svcmove.test.");
    private static final InetAddress V4 = address("198.18.0.150");
    private static final InetAddress V6 = address("fd53:7e57:0:1::150");

    @Test
    void namesAreQualifiedInTheZone() throws Exception {
        assertEquals("web.svcmove.test.", DnsUpdater.qualify("web", ZONE).toString());
        assertEquals("web.svcmove.test.", DnsUpdater.qualify("web.svcmove.test", ZONE).toString());
        assertEquals("web.svcmove.test.", DnsUpdater.qualify("WEB.svcmove.test.", ZONE).toString().toLowerCase());
        assertEquals("a.b.svcmove.test.", DnsUpdater.qualify("a.b", ZONE).toString());
    }

    @Test
    void namesOutsideTheZoneOrNotHostNamesAreRefused() {
        assertCause(DnsException.Cause.CONFIG, "not in the zone", () -> DnsUpdater.qualify("web.example.org.", ZONE));
        assertCause(DnsException.Cause.CONFIG, "zone's own name", () -> DnsUpdater.qualify("svcmove.test.", ZONE));
        assertCause(DnsException.Cause.CONFIG, "not a host name", () -> DnsUpdater.qualify("we_b", ZONE));
        assertCause(DnsException.Cause.CONFIG, "not a host name", () -> DnsUpdater.qualify("-web", ZONE));
        assertCause(DnsException.Cause.CONFIG, "no DNS name", () -> DnsUpdater.qualify(" ", ZONE));
    }

    @Test
    void ownedRecordsAreThoseWithOurMarkWithBothKindsOfAddress() throws Exception {
        Name web = Name.fromConstantString("web.svcmove.test.");
        Name other = Name.fromConstantString("other.svcmove.test.");
        List<OwnedRecord> owned = DnsUpdater.ownedIn(List.of(
                new AAAARecord(web, DClass.IN, 60, V6),
                new ARecord(web, DClass.IN, 60, V4),
                new TXTRecord(web, DClass.IN, 60, DnsUpdater.MARK + "web"),
                new ARecord(other, DClass.IN, 60, InetAddress.getByName("198.18.0.101")),
                new AAAARecord(other, DClass.IN, 60, InetAddress.getByName("fd53:7e57:0:1::101")),
                new TXTRecord(other, DClass.IN, 60, "v=spf1 -all")));
        // IPv4 first whatever the transfer's order, so equal addresses make equal records.
        assertEquals(List.of(new OwnedRecord("web.svcmove.test.", "web", List.of(V4, V6))), owned);
        assertEquals(owned.get(0), new OwnedRecord("web.svcmove.test.", "web", List.of(V6, V4)));
    }

    @Test
    void anUnusedNameGetsOneRecordPerAddressAndTheMarkOnlyWhenNothingIsThere() {
        Update m = UpdateMessages.add(ZONE, WEB, List.of(V4, V6), "web", 60);
        assertEquals(List.of("svcmove.test. IN SOA 0"), lines(m, Section.ZONE));
        assertEquals(List.of("web.svcmove.test. NONE ANY 0"), lines(m, Section.PREREQ));
        assertEquals(List.of("web.svcmove.test. IN A 60 198.18.0.150", "web.svcmove.test. IN AAAA 60 fd53:7e57:0:1:0:0:0:150",
                "web.svcmove.test. IN TXT 60 \"svcmove-owner=web\""), lines(m, Section.UPDATE));
    }

    @Test
    void aNameOfOursGetsExactlyTheGivenAddressesOnlyWhenItsTxtIsExactlyOurMark() {
        Update m = UpdateMessages.replace(ZONE, WEB, List.of(V4), "web", 60);
        // TTL 0 and class IN: "this RRset exists with exactly these records" (RFC 2136, 2.4.2).
        assertEquals(List.of("web.svcmove.test. IN TXT 0 \"svcmove-owner=web\""), lines(m, Section.PREREQ));
        // Both address RRsets go first: a service that lost its IPv6 VIP loses its AAAA.
        assertEquals(List.of("web.svcmove.test. ANY A 0", "web.svcmove.test. ANY AAAA 0", "web.svcmove.test. IN A 60 198.18.0.150"),
                lines(m, Section.UPDATE));
        assertEquals(List.of("web.svcmove.test. ANY A 0", "web.svcmove.test. ANY AAAA 0",
                "web.svcmove.test. IN AAAA 60 fd53:7e57:0:1:0:0:0:150"),
                lines(UpdateMessages.replace(ZONE, WEB, List.of(V6), "web", 60), Section.UPDATE));
    }

    @Test
    void removalTakesAddressesAndMarkOfANameOfOursOnly() {
        Update m = UpdateMessages.remove(ZONE, WEB, "web");
        assertEquals(List.of("web.svcmove.test. IN TXT 0 \"svcmove-owner=web\""), lines(m, Section.PREREQ));
        assertEquals(List.of("web.svcmove.test. ANY A 0", "web.svcmove.test. ANY AAAA 0", "web.svcmove.test. ANY TXT 0"),
                lines(m, Section.UPDATE));
    }

    @Test
    void aNameWithoutAddressesIsRefusedBeforeAnythingIsSent(@TempDir Path dir) throws Exception {
        Path key = Files.writeString(dir.resolve("k.key"), "key \"k\" { algorithm hmac-sha256; secret \"c2VjcmV0\"; };");
        // Port 9 (discard) on loopback: were anything sent, the error would be UNREACHABLE.
        DnsUpdater dns = new DnsUpdater(new DnsConfig("127.0.0.1:9", "svcmove.test.", key, null, null, 0, Duration.ofMillis(200)));
        assertCause(DnsException.Cause.CONFIG, "no address to point web.svcmove.test. at", () -> dns.register("web", List.of(), "web"));
    }

    @Test
    void bindKeyFilesAreRead() throws Exception {
        TsigKey k = TsigKey.parse("key \"svcmove-key\" {\n\talgorithm hmac-sha256;\n\tsecret \"c2VjcmV0LXNlY3JldA==\";\n};\n", "f");
        assertEquals("svcmove-key", k.name());
        assertEquals("hmac-sha256", k.algorithm());
        assertEquals("secret-secret", new String(k.secret()));
        // "//" inside a secret is base64, not a comment; comments outside strings are skipped.
        TsigKey slashes = TsigKey.parse("# made by hand\nkey k { /* old */ secret \"ab//cd+/\"; // new\n};", "f");
        assertEquals("ab//cd+/", Base64.getEncoder().encodeToString(slashes.secret()));
        assertCause(DnsException.Cause.CONFIG, "holds no TSIG key", () -> TsigKey.parse("nothing here", "f"));
        assertCause(DnsException.Cause.CONFIG, "not base64", () -> TsigKey.parse("key k { secret \"!!\"; };", "f"));
        assertCause(DnsException.Cause.CONFIG, "does not exist", () -> TsigKey.load(Path.of("/nonexistent/tsig.key")));
    }

    @Test
    void configDefaultsAndServerAddresses() throws Exception {
        DnsConfig c = new DnsConfig("198.18.0.2", "svcmove.test", null, null, null, 0, null);
        assertEquals(60, c.ttl());
        assertEquals(Duration.ofSeconds(5), c.timeout());
        assertEquals(53, c.serverAddress().getPort());
        assertEquals("svcmove.test.", c.zoneName().toString());
        assertEquals(5353, new DnsConfig("198.18.0.2:5353", "z", null, null, null, 0, null).serverAddress().getPort());
        assertCause(DnsException.Cause.CONFIG, "no valid port",
                () -> new DnsConfig("198.18.0.2:x", "z", null, null, null, 0, null).serverAddress());
        assertCause(DnsException.Cause.CONFIG, "no DNS server", () -> new DnsConfig(null, "z", null, null, null, 0, null).serverAddress());
        assertCause(DnsException.Cause.CONFIG, "key_file",
                () -> new DnsUpdater(new DnsConfig("198.18.0.2", "z", null, null, null, 0, null)));
    }

    @Test
    void durations() {
        assertEquals(Duration.ofSeconds(5), DnsConfig.parseDuration("5s"));
        assertEquals(Duration.ofSeconds(3), DnsConfig.parseDuration("3"));
        assertEquals(Duration.ofMillis(500), DnsConfig.parseDuration("500ms"));
        assertEquals(Duration.ofMinutes(1), DnsConfig.parseDuration("1m"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> DnsConfig.parseDuration("soon")).getMessage().contains("soon"));
    }

    /** A section of M, one record a line: name, class, type, TTL, data (none in a question or a deletion). */
    private static List<String> lines(Message m, int section) {
        return m.getSection(section).stream().map(r -> (r.getName() + " " + DClass.string(r.getDClass()) + " "
                + Type.string(r.getType()) + " " + r.getTTL() + " " + r.rdataToString()).strip()).toList();
    }

    private static InetAddress address(String literal) {
        try {
            return InetAddress.getByName(literal);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(literal, e);
        }
    }

    private interface Call {
        void run() throws Exception;
    }

    private static void assertCause(DnsException.Cause cause, String text, Call call) {
        DnsException e = assertThrows(DnsException.class, call::run);
        assertEquals(cause, e.reason(), e.getMessage());
        assertTrue(e.getMessage().contains(text), "'" + text + "' in: " + e.getMessage());
    }
}
