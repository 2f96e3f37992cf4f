package io.svcmove.migrator.move;

import io.svcmove.migrator.service.MoveStage;

/**
 * One row of a move's step table: what a participant does in a phase, the stage the move is
 * recorded at before it acts ({@code stage}, null: unchanged), and how to undo it. The same table
 * drives a live move, its rollback and, after a crash, its recovery ({@link MoveRunner}).
 *
 * @param id short name of the boundary before this step: fault injection and --json use it
 * @param undoOnFailure whether the step's own undo runs when the step itself fails (its effect on
 *     a peer is unknown when the peer's answer is lost)
 */
public record Step(Phase phase, String id, String name, MoveStage stage, Action action, Action undo, boolean undoOnFailure) {

    @FunctionalInterface
    public interface Action {
        void run() throws Exception;
    }

    public static final Action NOTHING = () -> {};

    public static Step of(Phase phase, String id, String name, Action action) {
        return new Step(phase, id, name, null, action, NOTHING, false);
    }

    public static Step undoable(Phase phase, String id, String name, Action action, Action undo) {
        return new Step(phase, id, name, null, action, undo, false);
    }

    /** This step with the move recorded at {@code s} before it acts. */
    public Step entering(MoveStage s) {
        return new Step(phase, id, name, s, action, undo, undoOnFailure);
    }

    /** This step with its undo run also when it fails itself. */
    public Step alsoUndoneIfItFails() {
        return new Step(phase, id, name, stage, action, undo, true);
    }

    /**
     * Thrown by an undo that cannot tell whether it may roll back (the peer it must ask does not
     * answer): the rollback stops there, the service stays frozen, and recovery asks again later.
     */
    public static final class Unresolved extends Exception {
        private static final long serialVersionUID = 1L;

        public Unresolved(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /**
     * Thrown by an undo or an action that learns the destination has the service after all (it
     * restored it and answered late): the move goes forward from the point of no return instead.
     */
    public static final class AlreadyArrived extends Exception {
        private static final long serialVersionUID = 1L;

        public AlreadyArrived(String message) {
            super(message);
        }
    }

    /**
     * Thrown past the point of no return when the destination says, definitely, that it has no copy
     * (it lost it: its node went down): the source's frozen copy is the only one left and resumes.
     */
    public static final class DestinationLacksIt extends Exception {
        private static final long serialVersionUID = 1L;

        public DestinationLacksIt(String message) {
            super(message);
        }
    }
}
