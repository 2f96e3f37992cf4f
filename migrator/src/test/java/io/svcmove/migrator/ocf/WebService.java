package io.svcmove.migrator.ocf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.svcmove.testbed.Background;
import io.svcmove.testbed.TestBed;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * An nginx service for the resource agent to run: its config listens on the VIP only and serves a
 * big random file slowly, so that a client's download spans a live move. Deletes its dir on close.
 */
final class WebService implements AutoCloseable {
    final TestBed bed;
    final String vip;
    final Path dir;
    private Background download;
    private Path downloaded;

    WebService(TestBed bed, String vip, int bigMb) {
        this.bed = bed;
        this.vip = vip;
        try {
            dir = Files.createTempDirectory("svcmove-ocf-");
            Files.createDirectories(dir.resolve("www"));
            Files.writeString(dir.resolve("www/index.html"), "hello\n");
            Files.writeString(dir.resolve("nginx.conf"), "user root;\ndaemon off;\nworker_processes 1;\npid " + dir.resolve("nginx.pid")
                    + ";\nerror_log stderr warn;\nevents {}\nhttp {\n  access_log off;\n  server {\n    listen " + vip
                    + ":80;\n    root " + dir.resolve("www") + ";\n    limit_rate 4m;\n  }\n}\n");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (bigMb > 0) {
            bed.execOutside(Duration.ofSeconds(60), "sh", "-c", "head -c " + bigMb + "M /dev/urandom > \"$0\"",
                    dir.resolve("www/big.bin").toString()).requireOk();
        }
    }

    /** The command line the resource agent's `command` parameter gets. */
    String command() {
        return "/usr/sbin/nginx -c " + dir.resolve("nginx.conf");
    }

    String httpCode() {
        return bed.exec(bed.client(), Duration.ofSeconds(10), "curl", "-sS", "-o", "/dev/null", "--max-time", "5", "-w", "%{http_code}",
                "http://" + vip + "/index.html").stdout().trim();
    }

    /** Starts the client's download of big.bin (one connection, no retry) and waits until bytes arrive. */
    void startDownload() throws Exception {
        downloaded = Files.createTempFile("svcmove-ocf-download-", ".bin");
        download = bed.startBackground(bed.client(), "curl", "-sS", "--max-time", "300", "-o", downloaded.toString(),
                "http://" + vip + "/big.bin");
        for (int i = 0; i < 150 && Files.size(downloaded) == 0 && download.isAlive(); i++) {
            Thread.sleep(100);
        }
        assertTrue(download.isAlive() && Files.size(downloaded) > 0, "the download has begun: " + download.output());
    }

    boolean downloading() {
        return download.isAlive();
    }

    /** The download ends within TIMEOUT, complete and identical to the file served. */
    void assertDownloadCompletes(Duration timeout) throws Exception {
        download.handle().onExit().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        assertEquals(0, download.stop(), "curl's exit code; it said: " + download.output());
        assertEquals(-1L, Files.mismatch(downloaded, dir.resolve("www/big.bin")), "what the client downloaded equals the file served");
    }

    @Override
    public void close() throws IOException {
        if (download != null) {
            download.close();
            Files.deleteIfExists(downloaded);
        }
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.sorted((a, b) -> b.getNameCount() - a.getNameCount()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
