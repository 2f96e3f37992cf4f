package io.svcmove.migrator.criu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class CriuVersionTest {
    @Test
    void parsesPlainAndCliForms() {
        assertEquals(new CriuVersion(4, 2, 1, ""), CriuVersion.parse("4.2.1"));
        assertEquals(new CriuVersion(4, 2, 0, ""), CriuVersion.parse("4.2"));
        assertEquals(new CriuVersion(4, 2, 1, ""), CriuVersion.parse("Version: 4.2.1\n"));
        assertEquals(new CriuVersion(4, 1, 0, "v4.1-20-gdeadbee"),
                CriuVersion.parse("Version: 4.1\nGitID: v4.1-20-gdeadbee\n"));
    }

    @Test
    void refusesGarbageNamingTheInput() {
        var e = assertThrows(IllegalArgumentException.class, () -> CriuVersion.parse("criu: command not found"));
        assertTrue(e.getMessage().contains("command not found"));
    }

    @Test
    void ordersNumerically() {
        assertTrue(CriuVersion.parse("4.2.1").atLeast(CriuVersion.parse("4.2.1")));
        assertTrue(CriuVersion.parse("4.10").atLeast(CriuVersion.parse("4.2.1")));
        assertFalse(CriuVersion.parse("3.17.1").atLeast(CriuVersion.parse("4.2.1")));
    }

    @Test
    void mapsTheRpcAnswerAndPrintsRoundTrip() {
        CriuVersion v = CriuVersion.fromRpc(CriuRpc.Version.newBuilder()
                .setMajorNumber(4).setMinorNumber(2).setSublevel(1).build());
        assertEquals("4.2.1", v.toString());
        assertEquals(v, CriuVersion.parse(v.toString()));
        assertEquals("4.2.1 (git v4.2-3-gabc)", new CriuVersion(4, 2, 1, "v4.2-3-gabc").toString());
    }
}
