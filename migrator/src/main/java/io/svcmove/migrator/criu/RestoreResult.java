package io.svcmove.migrator.criu;

import java.nio.file.Path;
import java.time.Duration;

/**
 * @param pid the restored root's PID as seen from the caller's PID namespace; the tree is
 *     detached (re-parented to init or the nearest subreaper once criu exits)
 * @param log CRIU's log of the restore (inside the images dir)
 * @param elapsed from spawning criu to its final answer, notifications included
 */
public record RestoreResult(long pid, Path log, Duration elapsed) {
}
