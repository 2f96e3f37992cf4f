package io.svcmove.migrator.move;

import io.svcmove.migrator.criu.Criu;
import java.util.ArrayList;
import java.util.List;

/**
 * What a pre-copy move needs of its source's kernel: soft-dirty tracking, which CRIU's pre-dumps rely
 * on; and what of the service's memory the rounds cannot copy ahead.
 */
final class PrecopySupport {
    /** What an operator does where it is missing. */
    static final String FIX = "move it with --mode eager or --mode lazy, or run a kernel built with CONFIG_MEM_SOFT_DIRTY=y"
            + " (Debian's and Ubuntu's are)";

    /** Below this much, memory the rounds cannot copy ahead costs the freeze too little to mention. */
    static final long WARN_ABOVE_KB = 32 * 1024;

    private PrecopySupport() {}

    /**
     * The service's memory as pre-copy sees it, in kB: shared memory (shmem: a MAP_SHARED anonymous
     * mapping, tmpfs, memfd, SysV), which CRIU's pre-dump leaves whole to the final dump; and
     * anonymous memory in transparent huge pages, whose writes the kernel tracks per 2 MiB.
     */
    record Memory(long sharedKb, long hugeKb) {
        static Memory of(List<Long> pids) {
            return ofRollups(pids.stream().map(NodeResources::smapsRollup).toList());
        }

        /** From the /proc/PID/smaps_rollup texts of the service's processes. */
        static Memory ofRollups(List<String> rollups) {
            long shared = 0;
            long huge = 0;
            for (String r : rollups) {
                shared += NodeResources.field(r, "Pss_Shmem:", 0);
                huge += NodeResources.field(r, "AnonHugePages:", 0);
            }
            return new Memory(shared, huge);
        }
    }

    /** Check {@code precopy-memory}: a warning when enough of the service's memory is of a kind the rounds do not shrink. */
    static Preflight memory(Memory m) {
        List<String> reasons = new ArrayList<>();
        List<String> fixes = new ArrayList<>();
        if (m.sharedKb() >= WARN_ABOVE_KB) {
            reasons.add(m.sharedKb() / 1024 + " MiB of shared memory, which CRIU's pre-dump does not copy ahead: all of it goes"
                    + " into the final dump, while the service is frozen");
            fixes.add("expect the freeze of an eager move for the shared memory");
        }
        if (m.hugeKb() >= WARN_ABOVE_KB) {
            reasons.add(m.hugeKb() / 1024 + " MiB in transparent huge pages, whose writes the kernel tracks per 2 MiB: where the"
                    + " service writes them, each 4 KiB write puts 512 pages into the next round and the final dump");
            fixes.add("back a large, sparsely written buffer with 4 KiB pages (madvise MADV_NOHUGEPAGE), or set"
                    + " /sys/kernel/mm/transparent_hugepage/enabled to madvise on the nodes");
        }
        return reasons.isEmpty() ? Preflight.ok("precopy-memory") : new Preflight("precopy-memory", Preflight.Result.WARN,
                "the service holds " + String.join("; and ", reasons), String.join("; ", fixes));
    }

    /** What this node lacks for a pre-copy move, each with the reason; empty when it can make one. */
    static List<String> missing(Criu criu, String node) {
        try {
            return missing(node, criu != null && criu.dirtyTrackingAvailable(), null);
        } catch (Exception e) {
            return missing(node, null, e.getMessage());
        }
    }

    /** The check of --mode precopy where this node lacks {@code missing}: refused with the reason and the fix. */
    static Preflight refusal(List<String> missing) {
        return Preflight.refuse("mode", "--mode precopy needs a kernel that tracks dirty pages: " + String.join("; ", missing), FIX);
    }

    /** @param tracks whether CRIU reports dirty-page tracking, null when its check failed with {@code error} */
    static List<String> missing(String node, Boolean tracks, String error) {
        if (tracks == null) {
            return List.of(node + ": CRIU's feature check failed (" + error + ")");
        }
        return tracks ? List.of() : List.of(node + ": the kernel does not track the pages a process writes (soft-dirty,"
                + " CONFIG_MEM_SOFT_DIRTY; 'criu check --feature mem_dirty_track' says more)");
    }
}
