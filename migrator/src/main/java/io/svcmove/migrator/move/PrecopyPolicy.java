package io.svcmove.migrator.move;

import java.util.List;
import java.util.Optional;

/**
 * When pre-copy stops dumping while the service runs and freezes it for the final dump: P.Haul's
 * rules. After at most {@link #MAX_ROUNDS} rounds; when a round wrote fewer than {@link #FEW_PAGES}
 * pages (what is left fits the freeze); or when a round did not shrink by {@link #MIN_SHRINK_PERCENT}
 * against the one before (the service dirties pages as fast as they are copied: more rounds only
 * cost time). Pure: it reads the pages of the rounds so far.
 */
final class PrecopyPolicy {
    static final int MAX_ROUNDS = 8;
    static final long FEW_PAGES = 64;
    static final int MIN_SHRINK_PERCENT = 10;

    private PrecopyPolicy() {}

    /** Why pre-copy stops after {@code pages} (each round's, in order), or empty when another round is worth it. */
    static Optional<String> stop(List<Long> pages) {
        int n = pages.size();
        if (n == 0) {
            return Optional.empty();
        }
        long last = pages.get(n - 1);
        if (last < FEW_PAGES) {
            return Optional.of("round " + n + " wrote " + last + " pages, under " + FEW_PAGES);
        }
        if (n >= 2) {
            long before = pages.get(n - 2);
            if (last * 100 > before * (100 - MIN_SHRINK_PERCENT)) {
                return Optional.of("round " + n + " wrote " + last + " pages against " + before + " before it, not "
                        + MIN_SHRINK_PERCENT + " % fewer");
            }
        }
        if (n >= MAX_ROUNDS) {
            return Optional.of("at most " + MAX_ROUNDS + " rounds");
        }
        return Optional.empty();
    }
}
