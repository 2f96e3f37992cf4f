package io.svcmove.migrator.move;

import io.svcmove.migrator.service.MoveStage;

/**
 * A move whose outcome this node cannot know yet: the destination did not answer at a step where
 * only its answer tells whether it has the service. The source keeps its frozen copy (its record
 * says the stage) and asks again until the destination answers; the service then runs on exactly
 * one of the two nodes.
 */
public final class MoveUnresolvedException extends Exception {
    private final transient Step step;
    private final MoveStage stage;

    MoveUnresolvedException(Step step, MoveStage stage, Exception cause) {
        super(cause.getMessage(), cause);
        this.step = step;
        this.stage = stage;
    }

    public Step step() {
        return step;
    }

    /** The stage recorded when it stopped. */
    public MoveStage stage() {
        return stage;
    }
}
