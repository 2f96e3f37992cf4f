package io.svcmove.testbed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class BedStatusTest {
    // As test-vm/cluster status --json --prefix a printed it before the bed had IPv6 (one agent running).
    static final String JSON = """
            {"prefix":"a","subnet":"198.18.0.0/24","prefix_length":24,"hosts":[\
            {"name":"adns","role":"dns","netns":"adns","address":"198.18.0.2","interface":"eth0"},\
            {"name":"aclient","role":"client","netns":"aclient","address":"198.18.0.3","interface":"eth0"},\
            {"name":"anode1","role":"node","netns":"anode1","address":"198.18.0.11","interface":"eth0"},\
            {"name":"anode2","role":"node","netns":"anode2","address":"198.18.0.12","interface":"eth0"}],\
            "zone":"svcmove.test.","dns":{"server":"198.18.0.2","key_file":"/w/test-vm/run/a/dns/tsig.key",\
            "key_name":"svcmove-key","algorithm":"hmac-sha256"},"vips":{"first":"198.18.0.100","last":"198.18.0.199"},\
            "agents":[{"node":"anode1","pid":4242,"config":"/w/test-vm/run/a/anode1/agent.toml",\
            "log":"/w/test-vm/run/a/anode1/agent.log","socket":"/run/svcmove/anode1/agent.sock",\
            "metrics":"198.18.0.11:9473"}]}
            """;

    @Test
    void parsesWhatTheScriptPrints() {
        BedStatus s = BedStatus.parse(JSON);
        assertEquals("a", s.prefix());
        assertEquals(24, s.prefixLength());
        assertEquals(List.of("anode1", "anode2"), s.nodes());
        assertEquals("eth0", s.host("anode2").iface());
        assertEquals("svcmove-key", s.dns().keyName());
        assertEquals("/w/test-vm/run/a/dns/tsig.key", s.dns().keyFile());
        assertEquals("198.18.0.199", s.vips().last());
        assertEquals(4242, s.agents().get(0).pid());
        assertEquals("198.18.0.11:9473", s.agents().get(0).metrics());
    }

    @Test
    void hostsMayBeNamedWithoutThePrefix() {
        BedStatus s = BedStatus.parse(JSON);
        assertEquals("198.18.0.11", s.host("node1").address());
        assertEquals("198.18.0.3", s.host("aclient").address());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.host("node9"));
        assertTrue(e.getMessage().contains("anode2"), e.getMessage());
    }

    @Test
    void noAgentsAndUnknownFieldsAreFine() {
        BedStatus s = BedStatus.parse(JSON.replaceFirst("\"agents\":\\[.*\\]", "\"agents\":[],\"later\":1"));
        assertEquals(List.of(), s.agents());
    }

    @Test
    void aScriptThatSaysNoKindIsTheNetnsBed() {
        BedStatus s = BedStatus.parse(JSON);
        assertEquals("netns", s.kind());
        assertFalse(s.host("node1").isVm());
    }

    @Test
    void vmNodesSayTheirKind() {
        // As `status --json` prints a VM bed's node (storage host and the vm object trimmed).
        BedStatus s = BedStatus.parse(JSON.replace("{\"prefix\":\"a\",", "{\"prefix\":\"a\",\"kind\":\"vm\",")
                .replace("{\"name\":\"anode1\",\"role\":\"node\",\"netns\":\"anode1\"",
                        "{\"name\":\"anode1\",\"role\":\"node\",\"kind\":\"vm\",\"netns\":null,\"vm\":{\"pid\":7}"));
        assertEquals("vm", s.kind());
        assertTrue(s.host("node1").isVm());
        assertNull(s.host("node1").netns());
    }

    // As the netns bed prints it now: the same, with IPv6 (hosts trimmed to two, no agents).
    static final String JSON6 = """
            {"prefix":"a","kind":"netns","subnet":"198.18.0.0/24","prefix_length":24,"hosts":[\
            {"name":"aclient","role":"client","kind":"netns","netns":"aclient","address":"198.18.0.3",\
            "address6":"fd53:7e57:0:1::3","interface":"eth0"},\
            {"name":"anode1","role":"node","kind":"netns","netns":"anode1","address":"198.18.0.11",\
            "address6":"fd53:7e57:0:1::11","interface":"eth0"}],\
            "zone":"svcmove.test.","dns":{"server":"198.18.0.2","key_file":"/k","key_name":"svcmove-key",\
            "algorithm":"hmac-sha256"},"vips":{"first":"198.18.0.100","last":"198.18.0.199"},\
            "ipv6":{"prefix":"fd53:7e57:0:1::/64","prefix_length":64,\
            "vips":{"first":"fd53:7e57:0:1::100","last":"fd53:7e57:0:1::199"}},"agents":[]}
            """;

    @Test
    void parsesTheIpv6OfTheNetnsBed() {
        BedStatus s = BedStatus.parse(JSON6);
        assertEquals("fd53:7e57:0:1::/64", s.ipv6().prefix());
        assertEquals(64, s.ipv6().prefixLength());
        assertEquals("fd53:7e57:0:1::100", s.ipv6().vips().first());
        assertEquals("fd53:7e57:0:1::199", s.ipv6().vips().last());
        assertEquals("fd53:7e57:0:1::11", s.host("node1").address6());
        assertEquals("198.18.0.11", s.host("node1").address());
        assertEquals("eth0", s.host("node1").iface());
        assertEquals("198.18.0.199", s.vips().last());
    }

    @Test
    void aBedWithoutIpv6SaysNone() {
        BedStatus s = BedStatus.parse(JSON);
        assertNull(s.ipv6());
        assertNull(s.host("node1").address6());
        assertNull(BedStatus.parse(JSON6.replaceFirst("\"ipv6\":\\{.*\\}\\},", "\"ipv6\":null,")).ipv6());
    }

    @Test
    void rejectsIpv6WithoutItsVips() {
        String noVips = JSON6.replace(",\"vips\":{\"first\":\"fd53:7e57:0:1::100\",\"last\":\"fd53:7e57:0:1::199\"}", "");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BedStatus.parse(noVips));
        assertTrue(e.getMessage().contains("ipv6 without its prefix or vips"), e.getMessage());
    }

    @Test
    void rejectsOtherOutput() {
        assertThrows(IllegalArgumentException.class, () -> BedStatus.parse("cluster: bed 'a' is not up"));
        assertThrows(IllegalArgumentException.class, () -> BedStatus.parse("{\"prefix\":\"a\"}"));
    }
}
