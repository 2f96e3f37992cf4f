package io.svcmove.migrator.move;

import java.util.List;
import java.util.Optional;

/**
 * One pre-flight check of a move: its name, its result, the reason and the fix. A move's prepare and
 * {@code svcmove check} read the same list, so a move that the check passes is not refused later for a
 * reason the check knew.
 */
record Preflight(String name, Result result, String reason, String fix) {
    enum Result { OK, REFUSE, WARN }

    static Preflight ok(String name) {
        return new Preflight(name, Result.OK, "", "");
    }

    static Preflight refuse(String name, String reason, String fix) {
        return new Preflight(name, Result.REFUSE, reason, fix);
    }

    /** The operator's message: the reason, then the fix when there is one. */
    String message() {
        return fix.isEmpty() ? reason : reason + ": " + fix;
    }

    /** The first refusal of {@code checks}, the one a move reports. */
    static Optional<Preflight> firstRefusal(List<Preflight> checks) {
        return checks.stream().filter(c -> c.result == Result.REFUSE).findFirst();
    }
}
