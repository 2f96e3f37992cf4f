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

    public static Step of(Phase phase, String name, Action action) {
        return new Step(phase, name, action, NOTHING);
    }

    public static Step undoable(Phase phase, String name, Action action, Action undo) {
        return new Step(phase, name, action, undo);
    }
}
