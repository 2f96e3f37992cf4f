package io.svcmove.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Name;
import org.xbill.DNS.TXTRecord;

class DnsUpdaterTest {
    private static final Name ZONE = Name.fromConstantString("svcmove.test.");

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
    void ownedRecordsAreThoseWithOurMark() throws Exception {
        Name web = Name.fromConstantString("web.svcmove.test.");
        Name other = Name.fromConstantString("other.svcmove.test.");
        List<OwnedRecord> owned = DnsUpdater.ownedIn(List.of(
                new ARecord(web, DClass.IN, 60, InetAddress.getByName("198.18.0.100")),
                new TXTRecord(web, DClass.IN, 60, DnsUpdater.MARK + "web"),
                new ARecord(other, DClass.IN, 60, InetAddress.getByName("198.18.0.101")),
                new TXTRecord(other, DClass.IN, 60, "v=spf1 -all")));
        assertEquals(List.of(new OwnedRecord("web.svcmove.test.", "web", List.of("198.18.0.100"))), owned);
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

    private interface Call {
        void run() throws Exception;
    }

    private static void assertCause(DnsException.Cause cause, String text, Call call) {
        DnsException e = assertThrows(DnsException.class, call::run);
        assertEquals(cause, e.reason(), e.getMessage());
        assertTrue(e.getMessage().contains(text), "'" + text + "' in: " + e.getMessage());
    }
}
