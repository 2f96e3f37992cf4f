package io.svcmove.migrator.move;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Set;
import org.junit.jupiter.api.Test;

class NodeResourcesTest {
    private static final String TWO_CPUS = "processor\t: 0\nflags\t\t: fpu sse avx2\n\nprocessor\t: 1\nflags\t\t: fpu sse\n";

    @Test
    void theDestinationOffersOnlyWhatEveryCpuOffers() {
        assertEquals(Set.of("fpu", "sse"), NodeResources.cpuFlags(TWO_CPUS, true));
        assertEquals(Set.of("fpu", "sse", "avx2"), NodeResources.cpuFlags(TWO_CPUS, false));
    }

    @Test
    void aFlagOfAnySourceCpuMissingOnTheDestinationRefuses() {
        Preflight cpu = NodeResources.cpu("b", NodeResources.cpuFlags(TWO_CPUS, false), "flags : fpu sse avx2\nflags : fpu sse\n");
        assertEquals(Preflight.Result.REFUSE, cpu.result());
        assertTrue(cpu.reason().contains("lacks avx2"), cpu.reason());
        assertEquals(Preflight.Result.OK, NodeResources.cpu("b", Set.of("fpu"), TWO_CPUS).result());
    }

    @Test
    void memoryNeedsWhatTheServiceTakesPlusTheMargin() {
        assertEquals(2048, NodeResources.memAvailableKb("MemTotal: 4096 kB\nMemAvailable:    2048 kB\n"));
        assertEquals(1234, NodeResources.pssKb("55d0-7ff [rollup]\nRss:    2000 kB\nPss:    1234 kB\nPss_Anon: 1000 kB\n"));
        assertEquals(0, NodeResources.pssKb(""), "a process gone meanwhile");
        assertEquals(Preflight.Result.OK, NodeResources.memory("b", 2048 * 1024, 1024 * 1024, 1024 * 1024).result());
        Preflight short1 = NodeResources.memory("b", 2047 * 1024, 1024 * 1024, 1024 * 1024);
        assertEquals(Preflight.Result.REFUSE, short1.result());
        assertTrue(short1.reason().startsWith("b has 2047 MiB available, the service needs 2048 MiB (1024 MiB for it"), short1.reason());
    }
}
