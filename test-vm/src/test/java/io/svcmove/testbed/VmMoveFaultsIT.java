package io.svcmove.testbed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Issues 13 and 14 on real servers: an agent dies in the middle of a move between two VMs, at a
 * named step boundary (the bed arms every agent with SVCMOVE_FAULTS=/run/svcmove-faults), and
 * systemd brings it back (Restart=on-failure), as on a real server. The source's agent dies once
 * the destination has restored the service (an unfinished move), or the destination's dies as the
 * commit reaches it (the case that lost services before moves were transactions). The move says it
 * cannot know how it ended (exit 6); the agents settle it by themselves: the service runs on node2
 * once, its cell only there, and the client's download through all of it comes out whole.
 */
@WithTestBed
class VmMoveFaultsIT {
    private static final Duration LONG = Duration.ofSeconds(180);
    private static final int SIZE = 48 << 20;
    private static final String FAULTS = "/run/svcmove-faults";
    /** Serves the file named by its argument, 64 KiB every 1/8 s (512 KiB/s), read as it goes. */
    private static final String SLOW_FILE = """
            import http.server, os, sys, time
            path = sys.argv[1]
            class H(http.server.BaseHTTPRequestHandler):
                def do_GET(self):
                    self.send_response(200)
                    self.send_header("Content-Length", str(os.path.getsize(path)))
                    self.end_headers()
                    with open(path, "rb") as f:
                        while chunk := f.read(65536):
                            self.wfile.write(chunk)
                            time.sleep(0.125)
                def log_message(self, *a):
                    pass
            http.server.HTTPServer(("", 8080), H).serve_forever()
            """;

    @ParameterizedTest(name = "the {0}''s agent crashes at {1}")
    @CsvSource({"source, announce", "destination, dest-commit"})
    void anAgentThatCrashesMidMoveComesBackUnderSystemdAndTheServiceRunsOnce(String side, String boundary, TestBed bed)
            throws Exception {
        assumeTrue(bed.isVm(), "a VM bed test (SVCMOVE_BED=vm)");
        String n1 = bed.nodes().get(0);
        String n2 = bed.nodes().get(1);
        String faulty = side.equals("source") ? n1 : n2;
        String name = "itfault" + (side.equals("source") ? 1 : 2);
        String vip = bed.nextVip();
        BedStatus.Shared shared = bed.status().shared();
        Path file = Path.of(shared.hostDir(), name + ".bin");
        byte[] content = new byte[SIZE];
        new Random(13).nextBytes(content);
        Files.write(file, content);
        Path got = Files.createTempFile("svcmove-faults-", ".bin");
        try {
            for (String n : List.of(n1, n2)) {
                Wait.until(LONG, n + "'s agent answers", () -> bed.svcmove(n, "status").ok());
            }
            int restartsBefore = restarts(bed, faulty);
            Services.run(bed, n1, name, vip, "python3", "-c", SLOW_FILE, shared.path() + "/" + name + ".bin");
            // Started is not listening yet under emulation; a retrying curl would hide a broken connection.
            Wait.until(LONG, name + " listens", () -> bed.exec(bed.client(), LONG, "timeout", "5", "bash", "-c",
                    "exec 3<>/dev/tcp/" + vip + "/8080").ok());
            try (Background download = bed.startBackground(bed.client(), "curl", "-sS", "--retry", "0", "-o", got.toString(),
                    "http://" + vip + ":8080/")) {
                Wait.until(LONG, "the download is under way", () -> Downloads.size(got) > (1 << 20) || !download.isAlive());
                assertTrue(download.isAlive(), "the download ended at once: " + download.output());
                bed.exec(faulty, LONG, "sh", "-c", "umask 077 && echo 'crash " + boundary + "' > " + FAULTS).requireOk();
                ExecResult moved = bed.exec(n1, Duration.ofMinutes(6), "svcmove", name, n2, "--mode", "eager");
                assertEquals(6, moved.exitCode(), "the move cannot know how it ended once an agent died:\n" + moved.describe());
                assertTrue(moved.stderr().contains("unknown"), "it says so:\n" + moved.describe());

                Wait.until(Duration.ofMinutes(6), () -> name + " settles on " + n2 + " once; " + where(bed, name),
                        () -> settledOn(bed, n2, name));
                assertTrue(restarts(bed, faulty) > restartsBefore, "systemd restarted " + faulty + "'s agent");
                assertTrue(bed.exec(faulty, LONG, "journalctl", "-u", "svcmove-agent", "--no-pager").stdout()
                        .contains("fault injected at " + boundary), faulty + "'s agent died at " + boundary);
                Wait.until(Duration.ofMinutes(8), "the download ends: " + download.output(), () -> !download.isAlive());
                assertEquals(0, download.stop(), "curl: " + download.output());
            }
            assertEquals(Downloads.sha256(content), Downloads.sha256(got), "the download came out whole across the crash");
        } finally {
            for (String n : List.of(n1, n2)) {
                bed.exec(n, LONG, "sh", "-c", "rm -f " + FAULTS + "*");
            }
            Services.stopEverywhere(bed, name);
            Files.deleteIfExists(got);
            Files.deleteIfExists(file);
        }
    }

    /** Only NODE runs NAME, its cell only there; false while an agent is still coming back (status fails then). */
    private static boolean settledOn(TestBed bed, String node, String name) {
        try {
            return Services.whereIs(bed, name).equals(Map.of(node, "running"))
                    && Services.cells(bed).stream().filter(c -> c.endsWith("." + name)).toList().equals(List.of(node + "." + name));
        } catch (AssertionError | RuntimeException e) {
            return false;
        }
    }

    /** Where NAME is now, by each node's status, cells and agent journal, for a wait that timed out. */
    private static String where(TestBed bed, String name) {
        // Short limits: this runs after the test has failed, and must not keep it hanging on a stuck guest.
        Duration quick = Duration.ofSeconds(30);
        StringBuilder b = new StringBuilder();
        for (String n : bed.nodes()) {
            ExecResult status = bed.svcmove(n, "status");
            ExecResult cells = bed.exec(n, quick, "ip", "netns", "list");
            b.append("\n--- ").append(n).append(": status exit ").append(status.exitCode()).append('\n')
                    .append(status.stdout()).append(status.stderr()).append("cells: ").append(cells.stdout().strip())
                    .append("\nits agent's journal:\n")
                    .append(bed.exec(n, quick, "journalctl", "-u", "svcmove-agent", "-n", "25", "--no-pager").stdout());
        }
        return b.toString();
    }

    private static int restarts(TestBed bed, String node) {
        return Integer.parseInt(bed.exec(node, LONG, "systemctl", "show", "-p", "NRestarts", "--value", "svcmove-agent").requireOk()
                .stdout().strip());
    }
}
