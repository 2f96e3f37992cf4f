package io.svcmove.migrator.move;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class LazySupportTest {
    private static final long MIB = 1L << 20;

    @Test
    void aNodeWithUserfaultfdAndBigPipesLacksNothing() {
        assertEquals(List.of(), LazySupport.missing("node2", true, null, 16 * MIB, false));
        assertEquals(List.of(), LazySupport.missing("node2", true, null, MIB, true), "CAP_SYS_RESOURCE may exceed the sysctl");
    }

    @Test
    void eachLackIsNamedWithItsNodeAndFix() {
        List<String> m = LazySupport.missing("node2", false, null, MIB, false);
        assertEquals(2, m.size(), m.toString());
        assertTrue(m.get(0).startsWith("node2: ") && m.get(0).contains("userfaultfd") && m.get(0).contains("criu check"), m.get(0));
        assertTrue(m.get(1).contains("fs.pipe-max-size is 1048576") && m.get(1).contains("sysctl fs.pipe-max-size=16777216"), m.get(1));
    }

    @Test
    void aFailedCheckSaysWhy() {
        List<String> m = LazySupport.missing("node3", null, "criu swrk exited with status 1", -1, true);
        assertEquals(List.of("node3: CRIU's feature check failed (criu swrk exited with status 1)", "node3: cannot read fs.pipe-max-size"), m);
    }
}
