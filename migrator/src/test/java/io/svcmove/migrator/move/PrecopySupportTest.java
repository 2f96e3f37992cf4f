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

    /** The fields of a /proc/PID/smaps_rollup, in kB (the kernel's text, trimmed to what matters). */
    private static String rollup(long pssShmemKb, long anonHugeKb) {
        return "00400000-7ffd4a1f3000 ---p 00000000 00:00 0                          [rollup]\nRss:              300000 kB\n"
                + "Pss:              290000 kB\nPss_Anon:         200000 kB\nPss_Shmem:    " + pssShmemKb + " kB\n"
                + "AnonHugePages:    " + anonHugeKb + " kB\nShmemPmdMapped:        0 kB\n";
    }

    @Test
    void sharedMemoryAndHugePagesOfTheWholeTreeAreSummed() {
        PrecopySupport.Memory m = PrecopySupport.Memory.ofRollups(List.of(rollup(20480, 4096), rollup(20480, 30720), ""));
        assertEquals(new PrecopySupport.Memory(40960, 34816), m);
    }

    @Test
    void memoryTheRoundsCannotShrinkIsAWarningThatSaysWhyAndWhatHelps() {
        Preflight small = PrecopySupport.memory(new PrecopySupport.Memory(PrecopySupport.WARN_ABOVE_KB - 1, 2048));
        assertEquals(Preflight.ok("precopy-memory"), small);

        Preflight shared = PrecopySupport.memory(new PrecopySupport.Memory(64 * 1024, 0));
        assertEquals(Preflight.Result.WARN, shared.result());
        assertTrue(shared.reason().startsWith("the service holds 64 MiB of shared memory, which CRIU's pre-dump does not copy ahead"),
                shared.reason());
        assertTrue(!shared.reason().contains("huge") && shared.fix().contains("eager move"), shared.message());

        Preflight both = PrecopySupport.memory(new PrecopySupport.Memory(64 * 1024, 256 * 1024));
        assertTrue(both.reason().contains("64 MiB of shared memory") && both.reason().contains("; and 256 MiB in transparent huge pages")
                && both.reason().contains("per 2 MiB"), both.reason());
        assertTrue(both.fix().contains("MADV_NOHUGEPAGE") && both.fix().contains("transparent_hugepage/enabled"), both.fix());
    }
}
