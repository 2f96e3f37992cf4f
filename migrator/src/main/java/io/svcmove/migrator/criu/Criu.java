package io.svcmove.migrator.criu;

/**
 * CRIU, driven over its RPC. Every method blocks until CRIU is done (a dump of a large tree can
 * take seconds): never call it on an event loop (Netty) thread. Each call runs its own criu
 * process; calls may run concurrently on different threads. On an interrupt or the options'
 * timeout CRIU is told to abort at its next notification (it then rolls the tree back itself) and
 * is killed only if it does not get there in time; the call then fails. After any failed
 * {@code leave_stopped} dump, call {@link FrozenTree#resume()}: it is harmless on a running tree.
 */
public interface Criu {
    CriuVersion version() throws CriuException, InterruptedException;

    /** CRIU's own check of the kernel ({@code criu check}); throws with CRIU's reasons if it fails. */
    void check() throws CriuException, InterruptedException;

    /** Whether this kernel and CRIU can move memory lazily (userfaultfd, non-cooperative events). */
    boolean lazyPagesAvailable() throws CriuException, InterruptedException;

    /** Whether this kernel tracks the pages a process writes (soft-dirty), which pre-copy needs. */
    boolean dirtyTrackingAvailable() throws CriuException, InterruptedException;

    /**
     * Pre-copy: dumps the memory of the running tree ({@code criu pre-dump}), which runs on; the
     * options' {@code trackMem} and {@code parent} make it an increment of the previous one.
     */
    DumpResult preDump(DumpOptions options, CriuListener listener) throws CriuException, InterruptedException;

    /** Dumps the tree rooted at {@code options.pid()}; the listener sees CRIU's phases as they happen. */
    DumpResult dump(DumpOptions options, CriuListener listener) throws CriuException, InterruptedException;

    /** Restores the images in {@code options.imagesDir()}; the tree is running when this returns. */
    RestoreResult restore(RestoreOptions options, CriuListener listener) throws CriuException, InterruptedException;

    /** Whether process {@code pid} runs this CRIU (a lazy dump's CRIU serves on after the agent that started it died). */
    boolean isCriu(long pid);
}
