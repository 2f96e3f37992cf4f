package io.svcmove.migrator.move;

import io.svcmove.migrator.service.ServiceRecord;
import java.io.IOException;
import java.time.Duration;
import java.util.Optional;

/** The source's frozen copy of a moving service: what a rollback resumes and a commit kills. */
interface SourceCopy {
    /** Rollback: the frozen tree runs on, its sockets out of repair mode. */
    void resume() throws IOException;

    /** Commit: the frozen tree goes; a PID that is no longer the service's is not touched. */
    void kill() throws IOException, InterruptedException;

    /** A lazy move's copy is held by CRIU until it has served every page: waits for that, within {@code limit}. */
    void awaitServed(Duration limit) throws InterruptedException;

    /** The copy of {@code svc} in {@code cell}, on a node: its processes. */
    static SourceCopy of(ServiceRecord svc, Optional<SourceCell> cell) {
        return new ProcessCopy(svc, cell);
    }
}
