package io.svcmove.migrator.move;

/**
 * One thing a participant does in a phase of a move, and how to undo it if a later step fails
 * before commit.
 */
public record Step(Phase phase, String name, Action action, Action undo) {

    @FunctionalInterface
    public interface Action {
        void run() throws Exception;
    }

    public static final Action NOTHING = () -> {};
    /** The undo of a step after which the move stands: what it started cannot be taken back. */
    public static final Action NO_RETURN = () -> {};

    public static Step of(Phase phase, String name, Action action) {
        return new Step(phase, name, action, NOTHING);
    }

    /** A step that, once done, is the point of no return, like the first step of COMMIT. */
    public static Step committing(Phase phase, String name, Action action) {
        return new Step(phase, name, action, NO_RETURN);
    }

    public static Step undoable(Phase phase, String name, Action action, Action undo) {
        return new Step(phase, name, action, undo);
    }
}
