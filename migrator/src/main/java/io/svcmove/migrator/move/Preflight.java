package io.svcmove.migrator.move;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.svcmove.migrator.control.ControlMessage;
import java.util.List;
import java.util.Optional;

/**
 * One pre-flight check of a move: its name, its result, the reason and the fix. A move's prepare and
 * {@code svcmove check} read the same list, so a move that the check passes is not refused later for a
 * reason the check knew.
 */
record Preflight(String name, Result result, String reason, String fix) {
    enum Result {
        OK("ok"), REFUSE("would refuse"), WARN("warning");

        private final String label;

        Result(String label) {
            this.label = label;
        }

        /** As `svcmove check` prints it. */
        String label() {
            return label;
        }
    }

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

    /** As `svcmove check --json` lists it; {@code node}: where it was checked. */
    ObjectNode json(String node) {
        return ControlMessage.JSON.createObjectNode().put("check", name).put("result", result.label()).put("node", node)
                .put("reason", reason).put("fix", fix);
    }

    /** The first refusal of {@code checks}, the one a move reports. */
    static Optional<Preflight> firstRefusal(List<Preflight> checks) {
        return checks.stream().filter(c -> c.result == Result.REFUSE).findFirst();
    }
}
