package io.svcmove.migrator.move;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class PreflightTest {
    @Test
    void theFirstRefusalIsTheOneAMoveReports() {
        List<Preflight> checks = List.of(Preflight.ok("criu"),
                Preflight.refuse("draining", "b is draining", "it takes no services until 'svcmove undrain b'"),
                Preflight.refuse("vip", "10.0.0.5 is already the VIP of web on b", ""));
        Preflight first = Preflight.firstRefusal(checks).orElseThrow();
        assertEquals("draining", first.name());
        assertEquals("b is draining: it takes no services until 'svcmove undrain b'", first.message());
    }

    @Test
    void aRefusalWithoutAFixReadsAsItsReason() {
        assertEquals("a service named web already runs on b", Preflight.refuse("name", "a service named web already runs on b", "").message());
    }

    @Test
    void allOkRefusesNothing() {
        assertTrue(Preflight.firstRefusal(List.of(Preflight.ok("criu"), Preflight.ok("vip"))).isEmpty());
    }
}
