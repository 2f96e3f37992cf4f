package io.svcmove.vip;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The parent-interface checks of {@link Cells#create}, fed with what {@code ip -j addr} prints. */
class SubnetCheckTest {

    private static final String ETH0 = "[{\"ifindex\":2,\"ifname\":\"eth0\",\"addr_info\":["
            + "{\"family\":\"inet\",\"local\":\"198.18.0.11\",\"prefixlen\":24,\"scope\":\"global\"},"
            + "{\"family\":\"inet\",\"local\":\"10.7.0.11\",\"prefixlen\":16,\"scope\":\"global\"}]}]";

    private static List<Netns.Addr> eth0() {
        return Netns.addressesOf(Netns.parse(ETH0, "test"));
    }

    private static String failure(String vip, List<Netns.Addr> addrs) {
        return assertThrows(CellException.class, () -> Cells.checkSubnet("node1", "eth0", Vip.parse(vip), addrs)).getMessage();
    }

    @Test
    void readsAddressesFromIpJson() {
        List<Netns.Addr> a = eth0();
        assertTrue(a.size() == 2 && a.get(1).subnet().toString().equals("10.7.0.0/16"), a.toString());
    }

    @Test
    void vipInsideEitherSubnetPasses() {
        assertDoesNotThrow(() -> Cells.checkSubnet("node1", "eth0", Vip.parse("198.18.0.100/24"), eth0()));
        assertDoesNotThrow(() -> Cells.checkSubnet("node1", "eth0", Vip.parse("10.7.9.9/16"), eth0()));
    }

    @Test
    void vipOutsideNamesTheSubnets() {
        String m = failure("198.19.0.100/24", eth0());
        assertTrue(m.contains("outside the subnet of eth0 on node node1 (198.18.0.0/24, 10.7.0.0/16)"), m);
    }

    @Test
    void wrongPrefixLengthSaysTheRightOne() {
        String m = failure("198.18.0.100/16", eth0());
        assertTrue(m.contains("write it as 198.18.0.100/24"), m);
    }

    @Test
    void nodeAddressIsNotAVip() {
        String m = failure("198.18.0.11/24", eth0());
        assertTrue(m.contains("node node1's own address on eth0"), m);
    }

    @Test
    void interfaceWithoutIpv4() {
        String m = failure("198.18.0.100/24", Netns.addressesOf(Netns.parse("[{\"ifname\":\"eth0\",\"addr_info\":[]}]", "test")));
        assertTrue(m.contains("has no IPv4 address"), m);
    }
}
