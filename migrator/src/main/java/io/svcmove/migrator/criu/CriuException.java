package io.svcmove.migrator.criu;

import java.nio.file.Path;

/**
 * CRIU refused or failed. The message says what CRIU was doing, its own error, and quotes the
 * tail of its log (error lines first).
 */
public class CriuException extends Exception {
    private final Path log;

    public CriuException(String message, Path log, Throwable cause) {
        super(message, cause);
        this.log = log;
    }

    /** CRIU's full log, or null if none was written. */
    public Path log() {
        return log;
    }
}
