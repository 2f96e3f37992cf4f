package io.svcmove.migrator.clock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.svcmove.testbed.Background;
import io.svcmove.testbed.Services;
import io.svcmove.testbed.TestBed;
import io.svcmove.testbed.Wait;
import io.svcmove.testbed.WithTestBed;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Issue 7: the service's TCP timestamps through a move, captured on the client. TSval (RFC 7323)
 * never goes backwards, ticks at the same rate before and after, and does not leap past the
 * freeze; the client's stack drops no segment for PAWS (its TcpExt counters, in its own netns),
 * and its application gets every line in order.
 */
@WithTestBed
class TcpTimestampsIT {
    private static final int PORT = 9000;
    /** One line every 20 ms on the connection, for at most a minute. */
    private static final String SERVER = "import socket, time\n"
            + "l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
            + "l.bind(('0.0.0.0', " + PORT + ")); l.listen(1)\n"
            + "c, _ = l.accept()\n"
            + "for i in range(3000):\n"
            + "    c.sendall(b'%d\\n' % i)\n"
            + "    time.sleep(0.02)\n";
    /** Reads lines for 12 s, answering each (so both ends keep stamping), and says whether any was missing. */
    private static final String CLIENT = "import socket, sys, time\n"
            + "s = socket.create_connection((sys.argv[1], " + PORT + "), timeout=10)\n"
            + "f = s.makefile('rb'); expect = 0; gaps = 0; end = time.monotonic() + 12\n"
            + "while time.monotonic() < end:\n"
            + "    line = f.readline()\n"
            + "    if not line: break\n"
            + "    n = int(line)\n"
            + "    gaps += n != expect; expect = n + 1\n"
            + "    s.sendall(b'ok %d\\n' % n)\n"
            + "print('lines', expect, 'gaps', gaps, flush=True)\n";
    private static final Pattern SEGMENT = Pattern.compile("^(\\d+\\.\\d+) IP .*TS val (\\d+) ecr");

    @Test
    void tsvalKeepsItsCourseAndTheClientDropsNothing(TestBed bed) throws Exception {
        String n1 = bed.nodes().get(0);
        String n2 = bed.nodes().get(1);
        String client = bed.client();
        String name = "ittsval";
        String vip = bed.nextVip();
        try {
            Services.run(bed, n1, name, vip, "/usr/bin/python3", "-u", "-c", SERVER);
            Map<String, Long> pawsBefore = paws(bed, client);
            try (Background dump = bed.startBackground(client, "tcpdump", "-i", "eth0", "-n", "-l", "-tt",
                    "tcp and src host " + vip + " and src port " + PORT)) {
                Wait.until(Duration.ofSeconds(10), "tcpdump listens", () -> dump.output().contains("listening on"));
                try (Background reader = bed.startBackground(client, "python3", "-u", "-c", CLIENT, vip)) {
                    Wait.sleep(3_000);
                    JsonNode moved = Services.move(bed, n1, name, n2);
                    Wait.until(Duration.ofSeconds(30), "the client is done", () -> !reader.isAlive());
                    String out = reader.output();
                    Matcher m = Pattern.compile("lines (\\d+) gaps (\\d+)").matcher(out);
                    assertTrue(m.find(), "the client's report: " + out);
                    assertEquals("0", m.group(2), "lines missing or out of order at the client: " + out);
                    assertTrue(Integer.parseInt(m.group(1)) > 300, "the client read the whole time: " + out);
                    Wait.sleep(300);
                    check(dump.output(), moved.path("freeze_ms").asDouble());
                }
            }
            Map<String, Long> pawsAfter = paws(bed, client);
            for (String k : pawsBefore.keySet()) {
                assertEquals(pawsBefore.get(k), pawsAfter.get(k), "the client's TcpExt " + k + " (segments dropped for PAWS)");
            }
            System.out.printf("client PAWS counters before %s, after %s%n", pawsBefore, pawsAfter);
        } finally {
            Services.stopEverywhere(bed, name);
        }
    }

    /** TSval against capture time: monotone, same rate on both sides of the move's gap, no leap past it. */
    private static void check(String capture, double freezeMs) {
        List<double[]> seg = new ArrayList<>();
        List<String> raw = new ArrayList<>();
        for (String line : capture.lines().toList()) {
            Matcher m = SEGMENT.matcher(line);
            if (m.find()) {
                seg.add(new double[] {Double.parseDouble(m.group(1)), Long.parseLong(m.group(2))});
                raw.add(line);
            }
        }
        assertTrue(seg.size() > 200, "segments captured from the service: " + seg.size() + "\n" + capture);
        int gapAt = 1;
        for (int i = 1; i < seg.size(); i++) {
            assertTrue(seg.get(i)[1] >= seg.get(i - 1)[1], "TSval went back from " + (long) seg.get(i - 1)[1] + " to "
                    + (long) seg.get(i)[1] + " at segment " + i + ":\n"
                    + String.join("\n", raw.subList(Math.max(0, i - 4), Math.min(raw.size(), i + 4))));
            if (seg.get(i)[0] - seg.get(i - 1)[0] > seg.get(gapAt)[0] - seg.get(gapAt - 1)[0]) {
                gapAt = i;
            }
        }
        double[] lastBefore = seg.get(gapAt - 1);
        double[] firstAfter = seg.get(gapAt);
        double gapMs = (firstAfter[0] - lastBefore[0]) * 1000;
        double jumpMs = firstAfter[1] - lastBefore[1];
        double before = rate(seg.subList(0, gapAt));
        double after = rate(seg.subList(gapAt, seg.size()));
        System.out.printf("TSval: %d segments; %.1f ticks/s before the move, %.1f after; across the %.1f ms gap (freeze"
                + " %.1f ms) TSval advanced %.0f%n", seg.size(), before, after, gapMs, freezeMs, jumpMs);
        assertTrue(gapMs >= 100, "the move's stall shows in the capture: largest gap " + gapMs + " ms");
        assertTrue(Math.abs(before - 1000) < 50 && Math.abs(after - 1000) < 50, "TSval ticks 1000/s on both sides: "
                + before + " before, " + after + " after");
        assertTrue(jumpMs <= gapMs + 20, "TSval leapt " + jumpMs + " ticks across a " + gapMs + " ms gap");
    }

    /** Ticks per second over a run of segments (first to last). */
    private static double rate(List<double[]> s) {
        assertTrue(s.size() > 50 && s.get(s.size() - 1)[0] - s.get(0)[0] > 1.5, "over 1.5 s of segments on each side of the move");
        return (s.get(s.size() - 1)[1] - s.get(0)[1]) / (s.get(s.size() - 1)[0] - s.get(0)[0]);
    }

    /** The client's PAWS drop counters (TcpExt in /proc/net/netstat of its netns). */
    private static Map<String, Long> paws(TestBed bed, String host) {
        List<String> lines = bed.exec(host, ClockBed.SHORT, "cat", "/proc/net/netstat").requireOk().stdout().lines().toList();
        Map<String, Long> out = new HashMap<>();
        for (int i = 0; i + 1 < lines.size(); i++) {
            if (lines.get(i).startsWith("TcpExt:") && lines.get(i + 1).startsWith("TcpExt:")) {
                String[] k = lines.get(i).split("\\s+");
                String[] v = lines.get(i + 1).split("\\s+");
                for (int j = 1; j < k.length; j++) {
                    if (k[j].startsWith("PAWS")) {
                        out.put(k[j], Long.parseLong(v[j]));
                    }
                }
            }
        }
        assertTrue(out.containsKey("PAWSEstab"), "the client's TcpExt counters include PAWSEstab: " + out);
        return out;
    }
}
