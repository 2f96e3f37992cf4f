package io.svcmove.testbed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Issue 14: service data the nodes share lives where data centers keep it, on a network filesystem
 * (the bed's NFS export, mounted at the same path on every node). nginx serves a 200 MB file from
 * it, rate-limited to 1.5 MB/s, and the client downloads it over one connection while the service
 * moves node1 -> node2 -> node1: the file comes out whole, and right after each move `svcmove
 * status` on the node it went to lists it running. nginx's pidfile is on each node's own disk,
 * carried with it (run --carry); its logs are each node's own.
 */
@WithTestBed
class VmSharedDataIT {
    private static final Duration LONG = Duration.ofSeconds(120);
    /** A move of nginx under emulation takes tens of seconds; the download outlasts two. */
    private static final Duration MOVE = Duration.ofMinutes(6);
    private static final int SIZE = 200 << 20;
    private static final String NAME = "itshared";

    @Test
    void nginxServingFromSharedStorageMovesThereAndBackWhileAClientDownloads(TestBed bed) throws Exception {
        assumeTrue(bed.isVm(), "a VM bed test (SVCMOVE_BED=vm)");
        String n1 = bed.nodes().get(0);
        String n2 = bed.nodes().get(1);
        String vip = bed.nextVip();
        BedStatus.Shared shared = bed.status().shared();
        // Written from this machine straight into the export (guests write slowly under emulation).
        Path hostDir = Path.of(shared.hostDir(), NAME);
        String dir = shared.path() + "/" + NAME;
        Files.createDirectories(hostDir);
        byte[] content = new byte[SIZE];
        new Random(14).nextBytes(content);
        Files.write(hostDir.resolve("big.bin"), content);
        String sum = Downloads.sha256(content);
        Files.writeString(hostDir.resolve("nginx.conf"), """
                worker_processes 2;
                pid /run/itshared/nginx.pid;
                error_log /var/log/itshared/error.log;
                events { worker_connections 64; }
                http {
                    access_log /var/log/itshared/access.log;
                    server { listen 80; root %s; limit_rate 1536k; }
                }
                """.formatted(dir));
        Path got = Files.createTempFile("svcmove-shared-", ".bin");
        try {
            ExecResult run = bed.svcmove(n1, "run", NAME, "--vip", vip + "/" + bed.prefixLength(), "--carry", "/run/itshared/nginx.pid",
                    "--", "sh", "-c", "mkdir -p /run/itshared /var/log/itshared && exec nginx -c " + dir + "/nginx.conf -g 'daemon off;'");
            assertEquals(0, run.exitCode(), run.describe());
            try (Background download = bed.startBackground(bed.client(), "curl", "-sS", "--retry", "0", "-o", got.toString(),
                    "http://" + vip + "/big.bin")) {
                Wait.until(LONG, "the download is under way", () -> Downloads.size(got) > (2 << 20) || !download.isAlive());
                assertTrue(download.isAlive(), "the download ended at once: " + download.output());
                for (String[] hop : List.of(new String[] {n1, n2}, new String[] {n2, n1})) {
                    ExecResult moved = bed.exec(hop[0], MOVE, "svcmove", NAME, hop[1], "--json");
                    assertEquals(0, moved.exitCode(), "svcmove " + NAME + " " + hop[1] + ":\n" + moved.describe());
                    ExecResult status = bed.exec(hop[1], LONG, "svcmove", "status", "--json");
                    boolean running = false;
                    for (JsonNode s : status.requireOk().json().path("services")) {
                        running |= s.path("name").asText().equals(NAME) && s.path("state").asText().equals("running");
                    }
                    assertTrue(running, "svcmove status on " + hop[1] + " right after the move lists " + NAME + " running:\n"
                            + status.describe());
                    System.out.println("VmSharedDataIT: moved " + hop[0] + " -> " + hop[1] + " at " + (Downloads.size(got) >> 20)
                            + " MB (VM bed: times are emulation's, not svcmove's): " + moved.json().path("phases_ms"));
                    assertTrue(download.isAlive(), "the download outlived the move to " + hop[1] + " (" + Downloads.size(got) + " bytes so far)");
                }
                Wait.until(Duration.ofMinutes(5), "the download ends: " + download.output(), () -> !download.isAlive());
                assertEquals(0, download.stop(), "curl: " + download.output());
            }
            assertEquals(sum, Downloads.sha256(got), "the download came out whole across the moves there and back");
            assertEquals(Map.of(n1, "running"), Services.whereIs(bed, NAME));
            assertTrue(bed.exec(n1, LONG, "test", "-s", "/run/itshared/nginx.pid").ok(), "nginx's pidfile is back on " + n1);
        } finally {
            Services.stopEverywhere(bed, NAME);
            Files.deleteIfExists(got);
            for (String n : List.of(n1, n2)) {
                bed.exec(n, LONG, "rm", "-rf", "/run/itshared", "/var/log/itshared");
            }
            for (String f : List.of("big.bin", "nginx.conf")) {
                Files.deleteIfExists(hostDir.resolve(f));
            }
            Files.deleteIfExists(hostDir);
        }
    }
}
