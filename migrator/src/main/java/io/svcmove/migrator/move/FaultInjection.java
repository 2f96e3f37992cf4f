package io.svcmove.migrator.move;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Faults at named step boundaries, for tests only, as CRIU tests itself ({@code fault_injected}).
 * Off unless the agent was started with {@code SVCMOVE_FAULTS=FILE}; then, at each boundary, FILE
 * (if present) is read: one line {@code KIND BOUNDARY}, where KIND is {@code crash} (the agent
 * exits at once, no cleanup), {@code fail} (the step fails) or {@code stall} (the agent writes
 * FILE.reached and waits, at most 120 s, until FILE.release exists). A fault fires once: FILE is
 * renamed to FILE.fired first, so an agent restarted after a crash does not crash again.
 */
public final class FaultInjection {
    private static final Logger log = LoggerFactory.getLogger(FaultInjection.class);
    /** The exit code of an injected crash. */
    public static final int CRASH_EXIT = 86;
    private static final long STALL_LIMIT_MS = 120_000;
    public static final FaultInjection OFF = new FaultInjection(null);

    private final Path file;

    FaultInjection(Path file) {
        this.file = file;
    }

    public static FaultInjection fromEnvironment() {
        String f = System.getenv("SVCMOVE_FAULTS");
        if (f == null || f.isBlank()) {
            return OFF;
        }
        log.warn("fault injection is on (SVCMOVE_FAULTS={}): this agent is for tests only", f);
        return new FaultInjection(Path.of(f));
    }

    /** The boundary before {@code boundary}: fires the fault named for it, if any. */
    public void at(String boundary) throws IOException {
        if (file == null || !Files.exists(file)) {
            return;
        }
        List<String> words = List.of(Files.readString(file).trim().split("\\s+"));
        if (words.size() != 2 || !words.get(1).equals(boundary)) {
            return;
        }
        Files.move(file, sibling(".fired"), StandardCopyOption.REPLACE_EXISTING);
        log.warn("fault injected at {}: {}", boundary, words.get(0));
        switch (words.get(0)) {
            case "crash" -> Runtime.getRuntime().halt(CRASH_EXIT);
            case "fail" -> throw new IOException("fault injected at " + boundary);
            case "stall" -> stall(boundary);
            default -> log.error("unknown fault kind '{}' in {} (crash, fail or stall)", words.get(0), file);
        }
    }

    private void stall(String boundary) throws IOException {
        Path release = sibling(".release");
        Files.writeString(sibling(".reached"), boundary + "\n");
        long deadline = System.currentTimeMillis() + STALL_LIMIT_MS;
        try {
            while (!Files.exists(release) && System.currentTimeMillis() < deadline) {
                Thread.sleep(20);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Files.deleteIfExists(release);
        Files.deleteIfExists(sibling(".reached"));
    }

    private Path sibling(String suffix) {
        return file.resolveSibling(file.getFileName() + suffix);
    }
}
