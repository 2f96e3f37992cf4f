package io.svcmove.migrator.criu;

import java.nio.file.Path;
import java.time.Duration;

/**
 * @param log CRIU's log of the dump (inside the images dir)
 * @param elapsed from spawning criu to its final answer, notifications included
 * @param stats the pages CRIU wrote (and skipped, being in the parent images)
 */
public record DumpResult(Path log, Duration elapsed, DumpStats stats) {
}
