package io.svcmove.testbed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Issue 14: clocks between two real kernels whose clocks started at different times (the bed boots
 * its nodes 30 s apart; the test fails if two nodes' boots are closer). A service streams its
 * CLOCK_MONOTONIC and CLOCK_BOOTTIME every 50 ms over one TCP connection while it moves node1 ->
 * node2 -> node1: the connection goes on with every line once, neither clock ever steps backwards
 * nor jumps by more than the move took, and the client's kernel drops no segment as too old
 * (TcpExtPAWSEstab unchanged: the TCP timestamps continued).
 */
@WithTestBed
class VmClocksIT {
    private static final Duration LONG = Duration.ofSeconds(120);
    private static final Duration MOVE = Duration.ofMinutes(6);
    private static final String NAME = "itclocks";
    /** Each connection gets "SEQ MONOTONIC_NS BOOTTIME_NS" every 50 ms, for at most 10 minutes. */
    private static final String SERVER = """
            import socket, threading, time
            def serve(c):
                try:
                    for i in range(12000):
                        c.sendall(b"%d %d %d\\n" % (i, time.clock_gettime_ns(time.CLOCK_MONOTONIC), time.clock_gettime_ns(time.CLOCK_BOOTTIME)))
                        time.sleep(0.05)
                except OSError:
                    pass
                c.close()
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("0.0.0.0", 9090))
            s.listen(4)
            while True:
                c, _ = s.accept()
                threading.Thread(target=serve, args=(c,), daemon=True).start()
            """;
    /** VIP: reads lines until STOP exists (at most 10 minutes), then prints them all. */
    private static final String CLIENT = """
            import os, socket, sys, time
            s = socket.create_connection((sys.argv[1], 9090), timeout=120)
            f = s.makefile("r")
            lines = []
            end = time.time() + 600
            while not os.path.exists(sys.argv[2]) and time.time() < end:
                l = f.readline()
                if not l:
                    print("closed by the service", flush=True)
                    break
                lines.append(l.strip())
                if len(lines) == 1:
                    print("ready", flush=True)
            print("\\n".join(lines), flush=True)
            """;

    @Test
    void monotonicBootTimeAndTcpTimestampsContinueBetweenKernelsBootedApart(TestBed bed) throws Exception {
        assumeTrue(bed.isVm(), "a VM bed test (SVCMOVE_BED=vm)");
        String n1 = bed.nodes().get(0);
        String n2 = bed.nodes().get(1);
        long boot1 = bootTime(bed, n1);
        long boot2 = bootTime(bed, n2);
        assertTrue(Math.abs(boot1 - boot2) >= 30, n1 + " booted at " + boot1 + ", " + n2 + " at " + boot2
                + " (s since the epoch): the test needs boots at least 30 s apart (SVCMOVE_VM_STAGGER)");
        String vip = bed.nextVip();
        Path stop = Files.createTempFile("svcmove-clocks-", ".stop");
        Files.delete(stop);
        try {
            Services.run(bed, n1, NAME, vip, "python3", "-c", SERVER);
            Wait.until(LONG, NAME + " listens", () -> bed.exec(bed.client(), Duration.ofSeconds(10), "bash", "-c",
                    "exec 3<>/dev/tcp/" + vip + "/9090").ok());
            long paws = pawsDrops(bed);
            long longestMoveMs = 0;
            List<String> lines;
            try (Background client = bed.startBackground(bed.client(), "python3", "-c", CLIENT, vip, stop.toString())) {
                Wait.until(LONG, "the client reads: " + client.output(), () -> client.output().contains("ready"));
                for (String[] hop : List.of(new String[] {n1, n2}, new String[] {n2, n1})) {
                    Wait.sleep(2000);
                    long t0 = System.nanoTime();
                    ExecResult moved = bed.exec(hop[0], MOVE, "svcmove", NAME, hop[1], "--json");
                    assertEquals(0, moved.exitCode(), "svcmove " + NAME + " " + hop[1] + ":\n" + moved.describe());
                    longestMoveMs = Math.max(longestMoveMs, (System.nanoTime() - t0) / 1_000_000);
                }
                Wait.sleep(2000);
                Files.writeString(stop, "");
                Wait.until(LONG, "the client stops", () -> !client.isAlive());
                assertEquals(0, client.stop(), client.output());
                lines = client.output().lines().filter(l -> l.matches("\\d+ \\d+ \\d+")).toList();
                assertTrue(!client.output().contains("closed by the service"), "the connection went on: " + client.output());
            }
            assertTrue(lines.size() > 40, "lines read across the moves: " + lines.size());
            long maxStepMs = 0;
            for (int i = 1; i < lines.size(); i++) {
                long[] a = parse(lines.get(i - 1));
                long[] b = parse(lines.get(i));
                assertEquals(a[0] + 1, b[0], "every line once, in order: " + lines.get(i - 1) + " then " + lines.get(i));
                for (int k = 1; k <= 2; k++) {
                    long stepMs = (b[k] - a[k]) / 1_000_000;
                    assertTrue(stepMs >= 0, (k == 1 ? "CLOCK_MONOTONIC" : "CLOCK_BOOTTIME") + " stepped back: " + lines.get(i - 1)
                            + " then " + lines.get(i));
                    assertTrue(stepMs <= longestMoveMs, (k == 1 ? "CLOCK_MONOTONIC" : "CLOCK_BOOTTIME") + " jumped " + stepMs
                            + " ms, more than a move took (" + longestMoveMs + " ms): " + lines.get(i - 1) + " then " + lines.get(i));
                    maxStepMs = Math.max(maxStepMs, stepMs);
                }
            }
            assertEquals(paws, pawsDrops(bed), "the client's kernel dropped no segment for an old TCP timestamp (TcpExtPAWSEstab)");
            System.out.println("VmClocksIT: boots " + Math.abs(boot1 - boot2) + " s apart; " + lines.size() + " lines, the longest step "
                    + maxStepMs + " ms (the longest move " + longestMoveMs + " ms; emulation's times)");
        } finally {
            Services.stopEverywhere(bed, NAME);
            Files.deleteIfExists(stop);
        }
    }

    private static long[] parse(String line) {
        String[] f = line.split(" ");
        return new long[] {Long.parseLong(f[0]), Long.parseLong(f[1]), Long.parseLong(f[2])};
    }

    /** When NODE booted, in seconds since the epoch (btime of its /proc/stat). */
    private static long bootTime(TestBed bed, String node) {
        return bed.exec(node, LONG, "sh", "-c", "sed -n 's/^btime //p' /proc/stat").requireOk().stdout().strip().transform(Long::parseLong);
    }

    /** The client's count of segments dropped by PAWS on established connections (its netns's /proc/net/netstat). */
    private static long pawsDrops(TestBed bed) {
        List<String> l = bed.exec(bed.client(), LONG, "cat", "/proc/net/netstat").requireOk().stdout().lines()
                .filter(s -> s.startsWith("TcpExt:")).toList();
        List<String> names = List.of(l.get(0).split("\\s+"));
        return Long.parseLong(l.get(1).split("\\s+")[names.indexOf("PAWSEstab")]);
    }
}
