package io.svcmove.migrator.move;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import org.junit.jupiter.api.Test;

class PageFirewallTest {
    @Test
    void theTableIsNamedAfterTheMoveInNftsAlphabet() {
        assertEquals("svcmove_pages_web_1_1a2b3c4d", PageFirewall.table("web.1-1a2b3c4d"));
    }

    @Test
    void onlyTheDestinationsAddressReachesThePort() throws Exception {
        String script = PageFirewall.openScript("web-1", 40123, InetAddress.getByName("198.18.0.12"));
        assertTrue(script.contains("add table inet svcmove_pages_web_1\n"), script);
        assertTrue(script.contains("hook input"), script);
        assertTrue(script.contains("tcp dport 40123 ip saddr != 198.18.0.12 tcp flags & (syn | ack) == syn counter drop"), script);
        assertTrue(script.contains("tcp dport 40123 ip saddr != 198.18.0.12 drop"), script);
        assertTrue(script.contains("meta nfproto ipv6 tcp dport 40123 drop"), script);
    }

    @Test
    void anIpv6DestinationIsRefusedRatherThanLeftOpen() {
        assertThrows(IllegalArgumentException.class, () -> PageFirewall.openScript("web-1", 40123, InetAddress.getByName("2001:db8::1")));
    }

    @Test
    void theRefusedAttemptsAreTheSynRulesCounter() {
        String listing = "table inet svcmove_pages_web_1 {\n\tchain input {\n\t\ttype filter hook input priority -200; policy accept;\n"
                + "\t\ttcp dport 40123 ip saddr != 198.18.0.12 tcp flags syn / syn,ack counter packets 7 bytes 420 drop\n"
                + "\t\ttcp dport 40123 ip saddr != 198.18.0.12 drop\n\t}\n}\n";
        assertEquals(7, PageFirewall.refused(listing));
        assertEquals(0, PageFirewall.refused("table inet x {\n}\n"));
    }

    @Test
    void leftoverTablesAreFoundByTheirSuffixOnly() {
        String listing = "table inet svcmove_pages_web_1_in\ntable inet svcmove_pages_web_2\ntable ip nat\n"
                + "table inet svcmove_hold\ntable inet svcmove_pages_db_9_in\n";
        assertEquals(java.util.List.of("svcmove_pages_web_1_in", "svcmove_pages_db_9_in"), PageFirewall.tablesIn(listing, "_in"));
    }
}
