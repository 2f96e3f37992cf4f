package io.svcmove.migrator.move;

import io.svcmove.migrator.criu.FrozenTree;
import io.svcmove.migrator.service.ProcessIdentity;
import io.svcmove.migrator.service.ServiceRecord;
import java.io.IOException;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import java.util.function.LongPredicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The frozen copy as processes, touched only once it is proven to be the service: the recorded PID,
 * with the start time recorded for it, inside the service's cell. After a crash or a reboot a
 * recorded PID may belong to anything else; that process is left alone.
 */
final class ProcessCopy implements SourceCopy {
    private static final Logger log = LoggerFactory.getLogger(ProcessCopy.class);

    private final ServiceRecord svc;
    private final Optional<SourceCell> cell;

    ProcessCopy(ServiceRecord svc, Optional<SourceCell> cell) {
        this.svc = svc;
        this.cell = cell;
    }

    /** The tree, if the recorded PID is still the service's process in its cell. */
    Optional<FrozenTree> tree() {
        if (cell.isEmpty() || !ProcessIdentity.same(svc.pid(), svc.pidStart()) || !cell.get().pids().contains(svc.pid())) {
            return Optional.empty();
        }
        return Optional.of(new FrozenTree(svc.pid()));
    }

    @Override
    public void resume() throws IOException {
        FrozenTree t = tree().orElseThrow(() -> new IOException(svc.name() + " cannot resume on " + svc.node()
                + ": its process " + svc.pid() + " is gone from its cell " + svc.netns() + " (did the node restart?)"));
        t.resume();
    }

    @Override
    public void kill() throws IOException, InterruptedException {
        Optional<FrozenTree> t = tree();
        if (t.isEmpty()) {
            log.warn("{}: pid {} is not the frozen copy any more (gone, or another process since): nothing to kill", svc.name(),
                    svc.pid());
            return;
        }
        t.get().kill(5, TimeUnit.SECONDS);
    }

    @Override
    public void stopLeftServer(LongPredicate isCriu) throws InterruptedException {
        OptionalLong tracer = tree().map(FrozenTree::tracer).orElse(OptionalLong.empty());
        if (tracer.isEmpty() || !isCriu.test(tracer.getAsLong())) {
            return;
        }
        log.warn("{}: killing criu (pid {}), which a lazy dump left serving the pages of the copy", svc.name(), tracer.getAsLong());
        ProcessHandle.of(tracer.getAsLong()).ifPresent(ProcessHandle::destroyForcibly);
        awaitServed(Duration.ofSeconds(5));
    }

    @Override
    public void awaitServed(Duration limit) throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        Optional<FrozenTree> t = tree();
        while (t.isPresent() && t.get().traced() && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
    }
}
