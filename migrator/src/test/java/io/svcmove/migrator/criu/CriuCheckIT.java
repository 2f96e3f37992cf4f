package io.svcmove.migrator.criu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class CriuCheckIT {
    private final Criu criu = new SwrkCriu(CriuTestBed.criuBinary());

    @Test
    void versionIsTheOneNativeSetupBuilt() throws Exception {
        CriuVersion v = criu.version();
        assertEquals(new CriuVersion(4, 2, 1, v.gitId()), v, "native/setup builds CRIU 4.2.1");
        assertTrue(v.atLeast(CriuVersion.parse("4.2.1")));
    }

    @Test
    void checkPasses() throws Exception {
        criu.check();
    }
}
