package io.svcmove.migrator.criu;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/**
 * {@code criu lazy-pages} on the destination of a post-copy move: a lazy restore hands it the
 * restored tree's userfaultfds; it fetches each page from the source's page server on first touch
 * and pushes the rest in the background, then exits (0 when every page arrived). RPC has no
 * request for it, so it is spawned as a command, like swrk (never by forking the JVM).
 */
public final class LazyPagesDaemon implements AutoCloseable {
    /** Its log, inside CRIU's work directory. */
    public static final String LOG = "lazy-pages.log";
    private static final Duration READY = Duration.ofSeconds(10);

    private final SwrkProcess process;
    private final Path log;

    private LazyPagesDaemon(SwrkProcess process, Path log) {
        this.process = process;
        this.log = log;
    }

    /**
     * Starts the daemon for the images in {@code imagesDir} and returns once it listens for the
     * restore (CRIU's status fd), so that a lazy restore with the same {@code workDir} finds it.
     *
     * @param address the source's page server
     */
    public static LazyPagesDaemon start(Path criu, Path imagesDir, Path workDir, String address, int port, PageServerTls tls)
            throws CriuException, InterruptedException {
        Path log = workDir.resolve(LOG);
        List<String> args = new ArrayList<>(List.of("lazy-pages", "--page-server", "--address", address, "--port",
                Integer.toString(port), "-D", imagesDir.toString(), "-W", workDir.toString(), "-v4", "-o", LOG,
                "--status-fd", Integer.toString(SwrkProcess.RPC_FD)));
        args.addAll(tls.cliArgs());
        SwrkProcess p;
        try {
            p = SwrkProcess.spawn(criu, args, new TreeMap<>(), log.resolveSibling(LOG + ".stderr"));
        } catch (IOException e) {
            throw new CriuException("criu lazy-pages could not start: " + e.getMessage(), log, e);
        }
        try {
            if (!p.awaitData(System.nanoTime() + READY.toNanos())) {
                throw new CriuException("criu lazy-pages exited before it was ready\n" + CriuLog.quote(log), log, null);
            }
        } catch (SwrkProcess.CriuTimeoutException e) {
            p.close();
            throw new CriuException("criu lazy-pages was not ready within " + READY.toSeconds() + " s; killed\n"
                    + CriuLog.quote(log), log, null);
        } catch (IOException | CriuException | InterruptedException e) {
            p.close();
            throw e instanceof CriuException ce ? ce : new CriuException("criu lazy-pages: " + e.getMessage(), log, e);
        }
        return new LazyPagesDaemon(p, log);
    }

    public int pid() {
        return process.pid();
    }

    /**
     * Waits for the daemon to finish, polling every few milliseconds so that a failure is seen at
     * once (the restored tree must not run on without its pages).
     *
     * @throws CriuException when it failed (the source's pages are lost) or did not finish within {@code timeout}
     */
    public void await(Duration timeout) throws CriuException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!process.exited()) {
            if (System.nanoTime() > deadline) {
                throw new CriuException("not every page arrived within " + timeout.toSeconds() + " s (criu lazy-pages, pid "
                        + pid() + ", still waiting; a slow link needs a larger [move] lazy_timeout_s)\n" + CriuLog.quote(log), log, null);
            }
            Thread.sleep(2);
        }
        int status = process.exitStatus();
        if (status != 0) {
            throw new CriuException("criu lazy-pages failed (status " + status + "): the page server on the source "
                    + "stopped answering\n" + CriuLog.quote(log), log, null);
        }
    }

    /** Kills the daemon if it still runs, and reaps it. */
    @Override
    public void close() {
        process.kill();
        process.close();
    }
}
