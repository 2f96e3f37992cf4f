package io.svcmove.migrator.criu;

import java.time.Duration;
import java.util.function.Consumer;

/**
 * CRIU for unit tests of what drives it: each dump and restore is written to a trace ("criu dump",
 * "criu restore") and succeeds, or fails as told. A restore "starts" a tree with the pid given.
 */
public final class CriuFake implements Criu {
    private final Consumer<String> trace;
    private volatile String dumpFailure;
    private volatile String restoreFailure;
    private volatile long restoredPid = 4242;
    private volatile RestoreOptions lastRestore;

    public CriuFake(Consumer<String> trace) {
        this.trace = trace;
    }

    /** The next dumps fail with {@code message} (null: they succeed again). */
    public CriuFake failDumps(String message) {
        dumpFailure = message;
        return this;
    }

    /** The next restores fail with {@code message} (null: they succeed again). */
    public CriuFake failRestores(String message) {
        restoreFailure = message;
        return this;
    }

    public CriuFake restoring(long pid) {
        restoredPid = pid;
        return this;
    }

    /** The options of the last restore asked, or null. */
    public RestoreOptions lastRestore() {
        return lastRestore;
    }

    @Override
    public CriuVersion version() {
        throw new UnsupportedOperationException("not faked");
    }

    @Override
    public void check() {}

    @Override
    public boolean isCriu(long pid) {
        return false;
    }

    @Override
    public boolean lazyPagesAvailable() {
        return false;
    }

    @Override
    public DumpResult dump(DumpOptions options, CriuListener listener) throws CriuException {
        trace.accept("criu dump");
        if (dumpFailure != null) {
            throw new CriuException(dumpFailure, null, null);
        }
        return new DumpResult(null, Duration.ofMillis(50));
    }

    @Override
    public RestoreResult restore(RestoreOptions options, CriuListener listener) throws CriuException {
        trace.accept("criu restore");
        lastRestore = options;
        if (restoreFailure != null) {
            throw new CriuException(restoreFailure, null, null);
        }
        return new RestoreResult(restoredPid, null, Duration.ofMillis(30));
    }
}
