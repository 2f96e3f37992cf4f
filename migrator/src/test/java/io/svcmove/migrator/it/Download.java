package io.svcmove.migrator.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.svcmove.testbed.Background;
import io.svcmove.testbed.Downloads;
import io.svcmove.testbed.TestBed;
import io.svcmove.testbed.Wait;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** The client downloading a site's big file with curl, in the background, over one TCP connection. */
final class Download implements AutoCloseable {
    private final Site site;
    private final Path out;
    private final Background curl;

    private Download(Site site, Path out, Background curl) {
        this.site = site;
        this.out = out;
        this.curl = curl;
    }

    /** Starts the download and waits until the first bytes arrived, so it is under way. */
    static Download start(Site site) {
        return start(site, site.vip);
    }

    /** The same from the site's VIP AT (for a dual-stack site: its IPv4 or its IPv6 VIP). */
    static Download start(Site site, String at) {
        Path out;
        try {
            out = Files.createTempFile("svcmove-it-download-", ".bin");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        // --max-time bounds it; no retries: a second connection would hide a broken first one.
        Background curl = site.bed.startBackground(site.bed.client(), "curl", "-sS", "--max-time", "300",
                "-o", out.toString(), site.url(at, "big.bin"));
        Download d = new Download(site, out, curl);
        Wait.until(It.SHORT, "the client's download of " + site.url(at, "big.bin") + " has begun (curl said: "
                + curl.output() + ")", () -> Downloads.size(out) > 0 || !curl.isAlive());
        assertTrue(curl.isAlive(), "curl is downloading " + site.url(at, "big.bin") + "; it ended early: " + curl.output());
        return d;
    }

    boolean running() {
        return curl.isAlive();
    }

    /** What the download looks like now, for messages. */
    String describe() {
        return (curl.isAlive() ? "running" : "ended") + ", " + bytes() + " of " + site.bigBytes + " bytes"
                + (curl.output().isBlank() ? "" : ", curl said: " + curl.output().strip());
    }

    long bytes() {
        return Downloads.size(out);
    }

    /** Waits for curl to end and asserts it got every byte, identical to the file served. */
    void assertCompletes(Duration timeout) {
        boolean ended;
        try {
            ended = curl.handle().onExit().get(timeout.toMillis(), TimeUnit.MILLISECONDS) != null;
        } catch (Exception e) {
            ended = false;
        }
        assertTrue(ended, "the download ended within " + timeout.toSeconds() + " s; it has " + bytes() + " of "
                + site.bigBytes + " bytes");
        int code = curl.stop();
        assertEquals(0, code, "curl's exit code (it has " + bytes() + " of " + site.bigBytes + " bytes); it said: "
                + curl.output());
        assertEquals(site.bigBytes, bytes(), "bytes the client downloaded");
        assertEquals(site.bigSha256, Downloads.sha256(out), "sha256 of what the client downloaded vs the file served");
    }

    @Override
    public void close() {
        curl.close();
        try {
            Files.deleteIfExists(out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
