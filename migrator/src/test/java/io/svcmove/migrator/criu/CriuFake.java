package io.svcmove.migrator.criu;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
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
    private volatile boolean dirtyTracking = true;
    private volatile long[] preDumpPages = {1000};
    private volatile int failingRound;
    private volatile long dumpPages = 10;
    private int preDumps;
    private final List<DumpOptions> dumps = new ArrayList<>();

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

    /** Whether the kernel tracks dirty pages (true unless told). */
    public CriuFake dirtyTracking(boolean v) {
        dirtyTracking = v;
        return this;
    }

    /** The pages each pre-dump writes, in order; the last repeats. */
    public CriuFake preDumpPages(long... pages) {
        preDumpPages = pages.clone();
        return this;
    }

    /** Pre-dump {@code round} (from 1) fails. */
    public CriuFake failPreDump(int round) {
        failingRound = round;
        return this;
    }

    /** The pages the (final) dump writes. */
    public CriuFake dumpPages(long pages) {
        dumpPages = pages;
        return this;
    }

    /** The options of every pre-dump and dump asked, in order. */
    public synchronized List<DumpOptions> dumps() {
        return List.copyOf(dumps);
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
    public boolean dirtyTrackingAvailable() {
        return dirtyTracking;
    }

    @Override
    public synchronized DumpResult preDump(DumpOptions options, CriuListener listener) throws CriuException {
        dumps.add(options);
        int round = ++preDumps;
        trace.accept("criu pre-dump " + round);
        if (round == failingRound) {
            throw new CriuException("pre-dump " + round + " failed (injected)", null, null);
        }
        long pages = preDumpPages[Math.min(round, preDumpPages.length) - 1];
        return new DumpResult(null, Duration.ofMillis(20), new DumpStats(pages, 0, pages));
    }

    @Override
    public synchronized DumpResult dump(DumpOptions options, CriuListener listener) throws CriuException {
        dumps.add(options);
        trace.accept("criu dump");
        // As CRIU does for a tree in a network namespace of its own: network-lock once it is frozen, post-dump at the end.
        notify(listener, "network-lock");
        if (dumpFailure != null) {
            throw new CriuException(dumpFailure, null, null);
        }
        notify(listener, "post-dump");
        return new DumpResult(null, Duration.ofMillis(50), new DumpStats(dumpPages, 0, dumpPages));
    }

    private static void notify(CriuListener listener, String script) throws CriuException {
        try {
            listener.onNotify(new CriuNotification(script, 0));
        } catch (Exception e) {
            throw new CriuException("the listener failed at " + script, null, e);
        }
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
