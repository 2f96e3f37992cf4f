package io.svcmove.migrator.criu;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/**
 * A CRIU command that serves one move's pages and then exits (0 when every page went through): on
 * the destination of a post-copy move {@code criu lazy-pages}, which a lazy restore hands the
 * restored tree's userfaultfds and which fetches each page from the source's page server (over
 * TLS) on first touch, pushing the rest in the background, or copies them in from the images
 * already here; on the destination of a streamed eager move {@code criu page-server}, into which
 * the source's dump writes the memory (over TLS) as it reads it. RPC has
 * no request that runs either as a child we can wait for, so each is spawned as a command, like swrk
 * (never by forking the JVM).
 */
public final class CriuDaemon implements AutoCloseable {
    /** Their logs, inside CRIU's work directory. */
    public static final String LAZY_PAGES_LOG = "lazy-pages.log";
    public static final String PAGE_SERVER_LOG = "page-server.log";
    private static final Duration READY = Duration.ofSeconds(10);

    private final SwrkProcess process;
    private final Path log;
    private final String command;
    /** What its failure means for the move, for the message. */
    private final String failureMeans;

    private CriuDaemon(SwrkProcess process, Path log, String command, String failureMeans) {
        this.process = process;
        this.log = log;
        this.command = command;
        this.failureMeans = failureMeans;
    }

    /**
     * Starts {@code criu lazy-pages} for the images in {@code imagesDir} and returns once it listens
     * for the restore, so that a lazy restore with the same {@code workDir} finds it.
     *
     * @param address the source's page server
     */
    public static CriuDaemon lazyPages(Path criu, Path imagesDir, Path workDir, String address, int port, PageServerTls tls)
            throws CriuException, InterruptedException {
        List<String> args = new ArrayList<>(List.of("lazy-pages", "--page-server"));
        args.addAll(serving(imagesDir, workDir, address, port, LAZY_PAGES_LOG));
        args.addAll(tls.cliArgs());
        return start(criu, "criu lazy-pages", args, workDir.resolve(LAZY_PAGES_LOG), "the page server on the source stopped answering");
    }

    /**
     * Starts {@code criu page-server} on {@code address:port}, writing the pages one dump sends into
     * {@code imagesDir}, and returns once it listens. It requires a client certificate signed by
     * {@code tls}'s CA, which a move makes for that move alone (so the client's name is not matched
     * against this server's own address, which is all CRIU could match it with).
     */
    public static CriuDaemon pageServer(Path criu, Path imagesDir, Path workDir, String address, int port, PageServerTls tls)
            throws CriuException, InterruptedException {
        List<String> args = new ArrayList<>(List.of("page-server"));
        args.addAll(serving(imagesDir, workDir, address, port, PAGE_SERVER_LOG));
        args.addAll(tls.cliArgs());
        args.add("--tls-no-cn-verify");
        return start(criu, "criu page-server", args, workDir.resolve(PAGE_SERVER_LOG), "the source's dump did not send every page");
    }

    /**
     * Starts {@code criu lazy-pages} for a lazy restore whose memory is already here, in {@code
     * imagesDir} (a streamed move's pages): the tree runs as soon as it is restored, and the daemon
     * copies its memory in meanwhile, each page first touched at once, then exits.
     */
    public static CriuDaemon localPages(Path criu, Path imagesDir, Path workDir) throws CriuException, InterruptedException {
        List<String> args = new ArrayList<>(List.of("lazy-pages"));
        args.addAll(logged(imagesDir, workDir, LAZY_PAGES_LOG));
        return start(criu, "criu lazy-pages", args, workDir.resolve(LAZY_PAGES_LOG),
                "the service's memory could not be copied in from its images on this node");
    }

    private static List<String> serving(Path imagesDir, Path workDir, String address, int port, String log) {
        List<String> args = new ArrayList<>(List.of("--address", address, "--port", Integer.toString(port)));
        args.addAll(logged(imagesDir, workDir, log));
        return args;
    }

    private static List<String> logged(Path imagesDir, Path workDir, String log) {
        return List.of("-D", imagesDir.toString(), "-W", workDir.toString(), "-v4", "-o", log, "--status-fd",
                Integer.toString(SwrkProcess.RPC_FD));
    }

    /** Spawns it and waits for CRIU's status fd, which it writes once it listens. */
    private static CriuDaemon start(Path criu, String command, List<String> args, Path log, String failureMeans)
            throws CriuException, InterruptedException {
        SwrkProcess p;
        try {
            p = SwrkProcess.spawn(criu, args, new TreeMap<>(), log.resolveSibling(log.getFileName() + ".stderr"));
        } catch (IOException e) {
            throw new CriuException(command + " could not start: " + e.getMessage(), log, e);
        }
        try {
            if (!p.awaitData(System.nanoTime() + READY.toNanos())) {
                throw new CriuException(command + " exited before it was ready\n" + CriuLog.quote(log), log, null);
            }
        } catch (SwrkProcess.CriuTimeoutException e) {
            p.close();
            throw new CriuException(command + " was not ready within " + READY.toSeconds() + " s; killed\n" + CriuLog.quote(log), log, null);
        } catch (IOException | CriuException | InterruptedException e) {
            p.close();
            throw e instanceof CriuException ce ? ce : new CriuException(command + ": " + e.getMessage(), log, e);
        }
        return new CriuDaemon(p, log, command, failureMeans);
    }

    public int pid() {
        return process.pid();
    }

    /**
     * Waits for it to finish, polling every few milliseconds so that a failure is seen at once (a
     * restored tree must not run on without its pages).
     *
     * @throws CriuException when it failed (pages are lost) or did not finish within {@code timeout}
     */
    public void await(Duration timeout) throws CriuException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!process.exited()) {
            if (System.nanoTime() > deadline) {
                throw new CriuException("not every page arrived within " + timeout.toSeconds() + " s (" + command + ", pid "
                        + pid() + ", still waiting; a slow link needs a larger [move] lazy_timeout_s)\n" + CriuLog.quote(log), log, null);
            }
            Thread.sleep(2);
        }
        int status = process.exitStatus();
        if (status != 0) {
            throw new CriuException(command + " failed (status " + status + "): " + failureMeans + "\n" + CriuLog.quote(log), log, null);
        }
    }

    /** Kills it if it still runs, and reaps it. */
    @Override
    public void close() {
        process.kill();
        process.close();
    }
}
