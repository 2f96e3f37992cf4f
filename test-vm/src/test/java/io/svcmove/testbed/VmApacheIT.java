package io.svcmove.testbed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Issue 15: Apache as Debian ships it (apache2, mpm_event, a root parent and www-data workers, its
 * stock configuration, logs in /var/log/apache2) started in a cell with {@code svcmove run apache
 * ... -- apache2ctl -D FOREGROUND} and moved with {@code svcmove apache node2} and back on real
 * machines while a client downloads a 200 MB file from it over one TCP connection, rate-limited by
 * Apache (mod_ratelimit, 1 MB/s); the file comes out whole. The
 * logs are each node's own: after a move, requests are logged on node2's disk. Where it arrived
 * Apache still manages its workers: a burst of parallel requests is served, a graceful restart
 * inside the cell works (apache2ctl reads the pidfile carried with Apache, run --carry), and no
 * error log shows a crashed process. Skipped on the netns bed (its root lacks
 * CAP_SYS_RESOURCE, without which CRIU cannot dump the www-data workers: the move is refused there).
 */
@WithTestBed
class VmApacheIT {
    private static final Duration LONG = Duration.ofSeconds(120);
    private static final String BIG = "/var/www/html/big.bin";
    /** Written by Apache at start and closed; read by apache2ctl to signal it: carried (run --carry). */
    private static final String PIDFILE = "/run/apache2/apache2.pid";
    /** At 1 MB/s (Apache's mod_ratelimit) the download outlasts two moves under emulation. */
    private static final int SIZE = 200 << 20;
    /** Apache's own rate limit for the big file: mod_ratelimit, enabled on each node for the test. */
    private static final String RATE_LIMIT = "/etc/apache2/conf-enabled/itratelimit.conf";
    private static final Duration MOVE = Duration.ofMinutes(6);

    @Test
    void apacheMovesWithItsWorkersWhileAClientDownloads(TestBed bed) throws Exception {
        assumeTrue(bed.isVm(), "a VM bed test (SVCMOVE_BED=vm)");
        String n1 = bed.nodes().get(0);
        String n2 = bed.nodes().get(1);
        String vip = bed.nextVip();
        Path got = Files.createTempFile("svcmove-apache-", ".bin");
        // The same file on each node's own disk (CRIU checks an open file's size where it restores):
        // written once from this machine onto the bed's NFS share (guests write slowly under
        // emulation), copied from there into each node's document root.
        Path shared = Path.of(bed.status().shared().hostDir(), "big.bin");
        byte[] content = new byte[SIZE];
        new java.util.Random(15).nextBytes(content);
        Files.write(shared, content);
        String sum = Downloads.sha256(shared);
        for (String n : List.of(n1, n2)) {
            bed.exec(n, LONG, "cp", bed.status().shared().path() + "/big.bin", BIG).requireOk();
            bed.exec(n, LONG, "sh", "-c", "a2enmod -q ratelimit && printf '%s\\n' '<Location \"/big.bin\">' '  SetOutputFilter RATE_LIMIT'"
                    + " '  SetEnv rate-limit 1024' '</Location>' > " + RATE_LIMIT).requireOk();
        }
        try {
            ExecResult run = bed.svcmove(n1, "run", "apache", "--vip", vip + "/" + bed.prefixLength(), "--carry", PIDFILE, "--",
                    "apache2ctl", "-D", "FOREGROUND");
            assertEquals(0, run.exitCode(), run.describe());
            Wait.until(LONG, "Apache answers on " + vip, () -> httpCode(bed, vip, "/").equals("200"));
            List<String> users = bed.exec(n1, LONG, "ps", "-o", "user=", "-C", "apache2").requireOk().stdout().lines()
                    .map(String::strip).distinct().sorted().toList();
            assertEquals(List.of("root", "www-data"), users, "Apache's root parent and its www-data workers");

            try (Background download = bed.startBackground(bed.client(), "curl", "-sS", "-o", got.toString(),
                    "-w", "HTTP %{http_code}\n", "http://" + vip + "/big.bin")) {
                Wait.until(LONG, "the download is under way", () -> Downloads.size(got) > (2 << 20) || !download.isAlive());
                assertTrue(download.isAlive(), "the download ended at once: " + download.output() + "; on " + n1 + ": "
                        + bed.exec(n1, LONG, "ls", "-lL", BIG, bed.status().shared().path()).describe());
                for (String[] hop : List.of(new String[] {n1, n2}, new String[] {n2, n1})) {
                    // Under emulation a move of Apache's tree outlasts the bed's usual 60 s for a CLI call.
                    ExecResult moved = bed.exec(hop[0], MOVE, "svcmove", "apache", hop[1], "--json");
                    assertEquals(0, moved.exitCode(), "svcmove apache " + hop[1] + ":\n" + moved.describe());
                    System.out.println("VmApacheIT: moved " + hop[0] + " -> " + hop[1] + " (VM bed: times are emulation's, not svcmove's): "
                            + moved.json().path("phases_ms"));
                    assertTrue(download.isAlive(), "the download outlived the move to " + hop[1] + " (" + Downloads.size(got) + " bytes so far)");
                }
                Wait.until(Duration.ofMinutes(4), "the download ends: " + download.output(), () -> !download.isAlive());
                assertEquals(0, download.stop(), "curl: " + download.output());
            }
            assertEquals(sum, Downloads.sha256(got), "the download came out whole across the moves there and back");
            assertEquals(Map.of(n1, "running"), Services.whereIs(bed, "apache"));
            ExecResult last = bed.exec(n1, MOVE, "svcmove", "apache", n2);
            assertEquals(0, last.exitCode(), last.describe());

            String marker = "/after-the-move-" + System.nanoTime();
            assertEquals("404", httpCode(bed, vip, marker), "Apache answers on " + n2);
            Wait.until(Duration.ofSeconds(30), "the request is logged on " + n2, () -> grep(bed, n2, marker, "access.log"));
            assertFalse(grep(bed, n1, marker, "access.log"), n1 + "'s own access log does not get " + n2 + "'s requests");

            assertTrue(bed.exec(n2, LONG, "test", "-s", PIDFILE).ok(), "Apache's pidfile came with it to " + n2);
            assertFalse(bed.exec(n1, LONG, "test", "-e", PIDFILE).ok(), n1 + " no longer has Apache's pidfile: Apache left it");
            // Apache still manages its workers where it arrived: a burst it needs more of, a graceful restart.
            ExecResult burst = bed.exec(bed.client(), LONG, "sh", "-c", "seq 60 | xargs -P 30 -I{} curl -sS -o /dev/null --max-time 60 -w"
                    + " '%{http_code}\\n' http://" + vip + "/");
            assertEquals(List.of("200"), burst.requireOk().stdout().lines().distinct().toList(), "60 requests, 30 at a time");
            long pid = Services.on(bed, n2).get("apache").path("pid").asLong();
            // Under the hardened unit (umask 0077) the service keeps a unit's usual umask, moved as it was.
            assertTrue(bed.exec(n2, LONG, "grep", "-x", "Umask:\t0022", "/proc/" + pid + "/status").ok(),
                    "Apache's umask is 0022 on " + n2);
            bed.exec(n2, LONG, "nsenter", "--target", Long.toString(pid), "--pid", "--net", "--uts", "--ipc", "apache2ctl", "graceful")
                    .requireOk();
            Wait.until(LONG, "Apache answers after its graceful restart", () -> httpCode(bed, vip, "/").equals("200"));
            assertTrue(grep(bed, n2, "SIGUSR1 received", "error.log"), "the graceful restart is in " + n2 + "'s error log");
            for (String n : List.of(n1, n2)) {
                assertFalse(grep(bed, n, "exit signal", "error.log"), "no Apache process crashed on " + n);
            }
            JsonNode svc = Services.on(bed, n2).get("apache");
            assertEquals("running", svc.path("state").asText(), svc.toString());
        } finally {
            Services.stopEverywhere(bed, "apache");
            Files.deleteIfExists(got);
            Files.deleteIfExists(shared);
            for (String n : List.of(n1, n2)) {
                bed.exec(n, LONG, "rm", "-f", BIG, RATE_LIMIT);
                bed.exec(n, LONG, "a2dismod", "-q", "ratelimit");
            }
        }
    }

    private static boolean grep(TestBed bed, String node, String text, String log) {
        return bed.exec(node, LONG, "grep", "-q", "-F", text, "/var/log/apache2/" + log).ok();
    }

    private static String httpCode(TestBed bed, String vip, String path) {
        return bed.exec(bed.client(), Duration.ofSeconds(30), "curl", "-sS", "-o", "/dev/null", "--max-time", "20", "-w",
                "%{http_code}", "http://" + vip + path).stdout().strip();
    }
}
