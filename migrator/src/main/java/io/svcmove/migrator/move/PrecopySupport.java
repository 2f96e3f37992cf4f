package io.svcmove.migrator.move;

import io.svcmove.migrator.criu.Criu;
import java.util.List;

/** What a pre-copy move needs of its source's kernel: soft-dirty tracking, which CRIU's pre-dumps rely on. */
final class PrecopySupport {
    /** What an operator does where it is missing. */
    static final String FIX = "move it with --mode eager or --mode lazy, or run a kernel built with CONFIG_MEM_SOFT_DIRTY=y"
            + " (Debian's and Ubuntu's are)";

    private PrecopySupport() {}

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
