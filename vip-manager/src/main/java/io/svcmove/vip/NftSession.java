package io.svcmove.vip;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A running {@code nft -i} inside one network namespace, for rule changes that fall inside a
 * move's freeze: starting nsenter and nft costs 15-40 ms a time on a small node, a line written to
 * a running nft well under 1 ms. Each batch is followed by a barrier (a marker table made, listed
 * and deleted); its listing on stdout says nft has processed everything before it, and whatever
 * nft wrote to stderr by then is an error of the batch.
 */
final class NftSession implements AutoCloseable {
    private static final String MARKER = "svcmove_sync";
    private static final String BARRIER = "add table netdev " + MARKER + "\nlist table netdev " + MARKER
            + "\ndelete table netdev " + MARKER + "\n";
    private static final long TIMEOUT_MS = 5000;
    private static final ScheduledExecutorService WATCHDOG = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "nft-watchdog");
        t.setDaemon(true);
        return t;
    });

    private final String what;
    private final Process process;
    private final OutputStream in;
    private final BufferedReader out;
    private final InputStream err;

    private NftSession(String what, Process process) {
        this.what = what;
        this.process = process;
        this.in = process.getOutputStream();
        this.out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        this.err = process.getErrorStream();
    }

    /** Starts nft in the namespace at {@code netns}; {@code what} names it in errors, e.g. "cell node1.web". */
    static NftSession open(Path netns, String what) {
        try {
            // Line-buffered output, so that the barrier's listing arrives as soon as nft prints it.
            Process p = new ProcessBuilder(List.of("stdbuf", "-oL", "-eL", "nsenter", "--net=" + netns, "nft", "-i")).start();
            return new NftSession(what, p);
        } catch (IOException e) {
            throw new CellException("cannot start nft in " + what + ": " + e.getMessage() + " (is nftables installed?)");
        }
    }

    /** Runs {@code commands} (nft syntax, one per line) and returns once nft has applied them. */
    synchronized void apply(String doing, String commands) {
        ScheduledFuture<?> watchdog = WATCHDOG.schedule(process::destroyForcibly, TIMEOUT_MS, TimeUnit.MILLISECONDS);
        try {
            in.write((commands + BARRIER).getBytes(StandardCharsets.UTF_8));
            in.flush();
            boolean listing = false;
            for (String line; (line = out.readLine()) != null; ) {
                if (line.startsWith("table netdev " + MARKER)) {
                    listing = true;
                } else if (listing && line.equals("}")) {
                    String errors = errors();
                    if (!errors.isEmpty()) {
                        throw new CellException(doing + " in " + what + " failed: nft said: " + errors.strip());
                    }
                    return;
                }
            }
            throw new CellException(doing + " in " + what + " failed: nft ended or did not answer within " + TIMEOUT_MS + " ms: "
                    + errors().strip());
        } catch (IOException e) {
            throw new CellException(doing + " in " + what + " failed: nft is gone (" + e.getMessage() + ")");
        } finally {
            watchdog.cancel(false);
        }
    }

    private String errors() throws IOException {
        int n = err.available();
        return n <= 0 ? "" : new String(err.readNBytes(n), StandardCharsets.UTF_8);
    }

    @Override
    public void close() {
        try {
            in.close();
        } catch (IOException e) {
            // nft is gone already: nothing to close.
        }
        try {
            if (!process.waitFor(1, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
    }
}
