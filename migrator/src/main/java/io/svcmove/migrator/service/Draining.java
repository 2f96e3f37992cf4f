package io.svcmove.migrator.service;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;

/**
 * Whether this node is draining: a file under state_dir, so that it outlives an agent restart.
 * A draining node refuses every move onto it until `svcmove undrain NODE`.
 */
public final class Draining {
    private final Path file;

    public Draining(Path stateDir) {
        this.file = stateDir.resolve("draining");
    }

    public boolean on() {
        return Files.exists(file);
    }

    public void set(boolean draining) {
        try {
            if (draining) {
                Files.writeString(file, Instant.now() + "\n");
            } else {
                Files.deleteIfExists(file);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot " + (draining ? "write " : "remove ") + file, e);
        }
    }
}
