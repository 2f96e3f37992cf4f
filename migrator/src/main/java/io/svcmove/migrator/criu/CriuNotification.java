package io.svcmove.migrator.criu;

import java.util.Optional;

/**
 * One NOTIFY message from CRIU.
 *
 * @param script CRIU's action-script name, e.g. "post-dump"
 * @param pid the PID CRIU attaches (the restored root for post-restore and setup-namespaces), or 0
 */
public record CriuNotification(String script, long pid) {
    /** Empty for names this version of svcmove does not know (newer CRIU). */
    public Optional<CriuPhase> phase() {
        return CriuPhase.of(script);
    }
}
