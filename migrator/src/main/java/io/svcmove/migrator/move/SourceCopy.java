package io.svcmove.migrator.move;

import io.svcmove.migrator.service.ServiceRecord;
import java.io.IOException;
import java.time.Duration;
import java.util.Optional;
import java.util.function.LongPredicate;

/** The source's frozen copy of a moving service: what a rollback resumes and a commit kills. */
interface SourceCopy {
    /** Rollback: the frozen tree runs on, its sockets out of repair mode. */
    void resume() throws IOException;

    /** Commit: the frozen tree goes; a PID that is no longer the service's is not touched. */
    void kill() throws IOException, InterruptedException;

    /** A lazy move's copy is held by CRIU until it has served every page: waits for that, within {@code limit}. */
    void awaitServed(Duration limit) throws InterruptedException;

    /**
     * Rollback of a lazy move in a recovery: the dump's CRIU, which outlived the agent that started
     * it, still holds the copy while it serves pages; it is killed (then the copy runs). A tracer
     * that {@code isCriu} does not accept is left alone.
     */
    void stopLeftServer(LongPredicate isCriu) throws InterruptedException;

    /** The copy of {@code svc} in {@code cell}, on a node: its processes. */
    static SourceCopy of(ServiceRecord svc, Optional<SourceCell> cell) {
        return new ProcessCopy(svc, cell);
    }
}
