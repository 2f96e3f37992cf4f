package io.svcmove.migrator.move;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.svcmove.migrator.criu.CriuFake;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class PrecopySupportTest {
    @Test
    void aKernelThatTracksDirtyPagesLacksNothing() {
        assertEquals(List.of(), PrecopySupport.missing(new CriuFake(t -> {}), "node1"));
    }

    @Test
    void withoutDirtyTrackingPrecopyIsRefusedWithTheReasonAndTheFixAndNothingIsDumped() {
        List<String> trace = new ArrayList<>();
        List<String> missing = PrecopySupport.missing(new CriuFake(trace::add).dirtyTracking(false), "node1");
        assertEquals(List.of("node1: the kernel does not track the pages a process writes (soft-dirty, CONFIG_MEM_SOFT_DIRTY;"
                + " 'criu check --feature mem_dirty_track' says more)"), missing);
        Preflight refusal = PrecopySupport.refusal(missing);
        assertEquals(Preflight.Result.REFUSE, refusal.result());
        assertTrue(refusal.reason().startsWith("--mode precopy needs a kernel that tracks dirty pages: node1: "), refusal.reason());
        assertTrue(refusal.fix().contains("--mode eager") && refusal.fix().contains("CONFIG_MEM_SOFT_DIRTY=y"), refusal.fix());
        assertEquals(List.of(), trace, "a feature check only: no dump");
    }

    @Test
    void noCriuOrAFailedCheckIsMissingToo() {
        assertEquals(1, PrecopySupport.missing(null, "node1").size());
        assertEquals(List.of("node3: CRIU's feature check failed (criu swrk exited with status 1)"),
                PrecopySupport.missing("node3", null, "criu swrk exited with status 1"));
    }
}
