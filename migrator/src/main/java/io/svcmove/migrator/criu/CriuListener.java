package io.svcmove.migrator.criu;

/**
 * Receives CRIU's notifications while a dump or restore runs, on the thread that called
 * {@link Criu}. CRIU waits for the listener: a slow listener extends the freeze.
 * If it throws, CRIU is told the step failed and aborts the operation; the exception becomes
 * the cause of the resulting {@link CriuException}.
 */
@FunctionalInterface
public interface CriuListener {
    CriuListener NONE = n -> { };

    void onNotify(CriuNotification notification) throws Exception;
}
