package io.svcmove.vip;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class CellSpecTest {

    private static final Vips VIP = Vips.parse("198.18.0.100/24");

    @ParameterizedTest
    @ValueSource(strings = {"w", "web", "web-2", "a0123456789012345678901234567890"})
    void acceptsServiceNames(String name) {
        assertEquals("node1." + name, new CellSpec(name, "node1", VIP, "eth0").netnsName());
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "Web", "2web", "-web", "web.api", "web_api", "web/x", "a01234567890123456789012345678901"})
    void rejectsServiceNames(String name) {
        CellException e = assertThrows(CellException.class, () -> new CellSpec(name, "node1", VIP, "eth0"));
        assertTrue(e.getMessage().contains("lowercase letter"), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"node.1", "Node1", "", "node 1"})
    void rejectsNodeNames(String node) {
        CellException e = assertThrows(CellException.class, () -> new CellSpec("web", node, VIP, "eth0"));
        assertTrue(e.getMessage().contains("node name"), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "eth0:1", "a/b", "has space", "sixteen-chars-xx"})
    void rejectsInterfaceNames(String dev) {
        CellException e = assertThrows(CellException.class, () -> new CellSpec("web", "node1", VIP, dev));
        assertTrue(e.getMessage().contains("parent interface"), e.getMessage());
    }

    @Test
    void gatewayMustBeOnTheVipsSubnet() {
        assertEquals("198.18.0.1", new CellSpec("web", "node1", VIP, "eth0", CellSpec.gateway("198.18.0.1"))
                .gateway().orElseThrow().getHostAddress());
        CellException e = assertThrows(CellException.class,
                () -> new CellSpec("web", "node1", VIP, "eth0", CellSpec.gateway("10.0.0.1")));
        assertTrue(e.getMessage().contains("outside the VIP's subnet 198.18.0.0/24"), e.getMessage());
        assertEquals(Optional.empty(), CellSpec.gateway(" "));
    }
}
