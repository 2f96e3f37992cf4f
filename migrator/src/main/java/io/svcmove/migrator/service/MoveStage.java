package io.svcmove.migrator.service;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Set;

/**
 * How far a move has come (kept in the service's record, hence here), as each of its two nodes records it (durably, before it acts on it).
 * The same words on both sides: the source's stage says what it asked of the destination, the
 * destination's what it did. Only the transitions listed here are legal; {@link #to} enforces
 * them, so a stage read back after a crash always means one thing.
 *
 * <pre>
 *   source:       PREPARED -> FROZEN -> RESTORING -> ARRIVED -----> COMMITTED
 *                                                  \--> HANDED_OVER -> COMMITTED   (lazy)
 *   destination:  PREPARED -> RESTORING -> ARRIVED -> COMMITTED
 *   either side, before ARRIVED / HANDED_OVER:  -> ABORTED
 *   after them only when the destination has no copy (it lost it): -> ABORTED
 * </pre>
 */
public enum MoveStage {
    /** The destination has (or is building) an empty cell, held; nothing is frozen. */
    PREPARED("prepared"),
    /** Source only: the tree is being dumped or is stopped; the destination was not asked to restore. */
    FROZEN("frozen"),
    /** The destination was asked to restore (source), or CRIU is restoring there (destination), its hold still on. */
    RESTORING("restoring"),
    /**
     * The destination restored the tree and recorded it durably, then lifted its hold: its copy has
     * answered clients, so the source's frozen copy can no longer resume safely. The point of no
     * return of an eager move.
     */
    ARRIVED("arrived"),
    /** Source only, lazy moves: the copy runs on the destination while CRIU here serves it its pages. */
    HANDED_OVER("handed-over"),
    /** The destination owns the service (it said so, durably); the source's copy goes. */
    COMMITTED("committed"),
    /** Given up before the point of no return: the service runs on the source. */
    ABORTED("aborted");

    private final String label;

    MoveStage(String label) {
        this.label = label;
    }

    @JsonValue
    public String label() {
        return label;
    }

    @JsonCreator
    public static MoveStage of(String label) {
        return Arrays.stream(values()).filter(s -> s.label.equals(label)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown move stage '" + label + "'"));
    }

    /** The stages this one may lead to. */
    public Set<MoveStage> next() {
        return switch (this) {
            case PREPARED -> EnumSet.of(FROZEN, RESTORING, ABORTED);
            case FROZEN -> EnumSet.of(RESTORING, ABORTED);
            case RESTORING -> EnumSet.of(ARRIVED, HANDED_OVER, ABORTED);
            // ABORTED only when the destination says, definitely, that it has no copy (it lost it).
            case ARRIVED, HANDED_OVER -> EnumSet.of(COMMITTED, ABORTED);
            case COMMITTED, ABORTED -> EnumSet.noneOf(MoveStage.class);
        };
    }

    /** This stage's successor {@code next}, or an error naming the illegal step (a bug, never an operator's doing). */
    public MoveStage to(MoveStage next) {
        if (!next().contains(next)) {
            throw new IllegalStateException("a move cannot go from stage " + label + " to " + next.label);
        }
        return next;
    }

    /** Past the point of no return: the service's future is on the destination. */
    public boolean pastNoReturn() {
        return this == ARRIVED || this == HANDED_OVER || this == COMMITTED;
    }
}
