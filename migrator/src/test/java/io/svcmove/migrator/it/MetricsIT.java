package io.svcmove.migrator.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.svcmove.testbed.Background;
import io.svcmove.testbed.BedStatus;
import io.svcmove.testbed.ExecResult;
import io.svcmove.testbed.Services;
import io.svcmove.testbed.TestBed;
import io.svcmove.testbed.Wait;
import io.svcmove.testbed.WithTestBed;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import org.junit.jupiter.api.Test;

/**
 * Issue 17: the agents' Prometheus metrics, read the way an operator reads them. A real Prometheus
 * in the bed's client namespace scrapes every agent each second; three moves (one rolled back by an
 * injected fault, one that goes through, one refused by a draining node) must show in its counters,
 * read back through its query API; and promtool accepts what each agent serves.
 */
@WithTestBed
class MetricsIT {
    /** Prometheus answers on the client namespace's own loopback, so no other bed's can meet it. */
    private static final String PROMETHEUS = "http://127.0.0.1:9090";
    private static final Duration SEEN = Duration.ofSeconds(30);

    @Test
    void prometheusSeesEveryMoveByOutcomeAndPromtoolAcceptsTheAgentsOutput(TestBed bed) throws Exception {
        String n1 = It.node(bed, 0);
        String n2 = It.node(bed, 1);
        for (String tool : List.of("prometheus", "promtool")) {
            assertEquals(0, bed.execOutside(It.SHORT, "sh", "-c", "command -v " + tool).exitCode(),
                    tool + " is not installed: run 'make setup' (it installs Debian's prometheus package)");
        }
        Path dir = Files.createTempDirectory("svcmove-it-prometheus-");
        Path fault = dir.resolve("n1.fault");
        // n1's agent with fault injection armed (nothing fires until the file names a boundary); restarted
        // first, since a restart starts its counters again.
        Agents.kill(bed, n1, "TERM");
        Agents.start(bed, n1, Agents.of(bed, n1).config(), "SVCMOVE_FAULTS=" + fault);
        try (Background prometheus = startPrometheus(bed, dir);
                Site site = new Site(bed, "itmetrics", bed.nextVip(), "2m")) {
            Wait.until(SEEN, () -> "Prometheus scrapes every agent (up == 1 for " + bed.nodes().size() + "); it printed:\n"
                    + prometheus.output(), () -> prometheus.isAlive()
                    && value(bed, "count(up{job=\"svcmove\"} == 1)").orElse(0) == bed.nodes().size());
            assertEquals(bed.nodes().size(), value(bed, "count(svcmove_build_info{version!=\"\"})").orElse(0),
                    "every agent says its version in svcmove_build_info");
            site.start(n1);
            // The baseline once Prometheus has scraped n1 with the service running.
            awaitValue(bed, "svcmove_services{node=\"" + n1 + "\",state=\"running\"}", Services.on(bed, n1).values().stream()
                    .filter(s -> s.path("state").asText().equals("running")).count());
            Map<String, Double> before = Map.of(
                    "ok", moves(bed, n1, "ok"), "rolled_back", moves(bed, n1, "rolled_back"), "refused", moves(bed, n2, "refused"),
                    "running1", running(bed, n1), "running2", running(bed, n2),
                    "freezes", value(bed, "svcmove_move_freeze_seconds_count{node=\"" + n1 + "\",mode=\"eager\"}").orElseThrow(),
                    "restores", value(bed, "svcmove_move_phase_seconds_count{node=\"" + n1 + "\",phase=\"restore\"}").orElseThrow(),
                    "bytes", value(bed, "svcmove_move_image_bytes_total{node=\"" + n1 + "\",mode=\"eager\"}").orElseThrow());

            // Rolled back: the transfer fails on the source, the service runs on where it was.
            Files.writeString(fault, "fail transfer\n");
            ExecResult failed = bed.svcmove(n1, site.name, n2, "--mode", "eager");
            assertEquals(4, failed.exitCode(), "a move whose transfer fails (injected) is rolled back:\n" + failed.describe());
            assertTrue(Files.exists(Path.of(fault + ".fired")), "the injected fault fired");
            awaitValue(bed, "svcmove_moves_total{node=\"" + n1 + "\",outcome=\"rolled_back\",mode=\"eager\"}", before.get("rolled_back") + 1);

            // Goes through.
            ExecResult moved = bed.svcmove(n1, site.name, n2, "--mode", "eager");
            assertEquals(0, moved.exitCode(), "the move to " + n2 + ":\n" + moved.describe());
            assertEquals(Map.of(n2, "running"), Services.whereIs(bed, site.name), "where " + site.name + " runs after the move");
            awaitValue(bed, "svcmove_moves_total{node=\"" + n1 + "\",outcome=\"ok\",mode=\"eager\"}", before.get("ok") + 1);
            assertEquals(before.get("rolled_back") + 1, moves(bed, n1, "rolled_back"), "the rollback is counted once");
            assertEquals(before.get("freezes") + 1, value(bed, "svcmove_move_freeze_seconds_count{node=\"" + n1 + "\",mode=\"eager\"}")
                    .orElseThrow(), "one freeze observed on " + n1 + ": the completed move's (a rolled-back move's is not)");
            assertEquals(before.get("restores") + 1, value(bed, "svcmove_move_phase_seconds_count{node=\"" + n1
                    + "\",phase=\"restore\"}").orElseThrow(), "the completed move's restore phase observed on " + n1);
            assertTrue(value(bed, "svcmove_move_image_bytes_total{node=\"" + n1 + "\",mode=\"eager\"}").orElseThrow() > before.get("bytes"),
                    "the completed move's image bytes are counted on " + n1);
            awaitValue(bed, "svcmove_services{node=\"" + n2 + "\",state=\"running\"}", before.get("running2") + 1);
            assertEquals(before.get("running1") - 1, running(bed, n1), "one service fewer running on " + n1);

            // Refused: n1 is draining, so n2's move back is refused in prepare; counted on n2, its source.
            assertEquals(0, bed.svcmove(n1, "drain", n1).exitCode(), "svcmove drain " + n1);
            try {
                ExecResult refused = bed.svcmove(n2, site.name, n1, "--mode", "eager");
                assertEquals(3, refused.exitCode(), "a move onto the draining " + n1 + " is refused:\n" + refused.describe());
                awaitValue(bed, "svcmove_moves_total{node=\"" + n2 + "\",outcome=\"refused\",mode=\"eager\"}", before.get("refused") + 1);
            } finally {
                bed.svcmove(n1, "undrain", n1);
            }
            assertEquals(before.get("ok") + 1, moves(bed, n1, "ok"), "the refused move added no success on " + n1);

            // The agents' view of each other and of the packet buffer.
            assertEquals(1.0, value(bed, "svcmove_peer_up{node=\"" + n1 + "\",peer=\"" + n2 + "\"}").orElse(0), n1 + " sees " + n2 + " up");
            double offset = value(bed, "svcmove_peer_clock_offset_seconds{node=\"" + n1 + "\",peer=\"" + n2 + "\"}").orElseThrow();
            assertTrue(Math.abs(offset) < 0.5, "the bed's nodes share one wall clock; the offset " + n1 + " measured to " + n2
                    + " is " + offset + " s");
            for (String name : List.of("svcmove_buffer_buffered_packets_total", "svcmove_buffer_dropped_packets_total",
                    "svcmove_buffer_injected_packets_total")) {
                assertEquals(bed.nodes().size(), value(bed, "count(" + name + " >= 0)").orElse(0), name + " on every agent");
            }

            for (BedStatus.Agent a : bed.status().agents()) {
                ExecResult check = bed.exec(bed.client(), It.SHORT, "bash", "-o", "pipefail", "-c",
                        "curl -sSf --max-time 5 http://\"$0\"/metrics | promtool check metrics", a.metrics());
                assertEquals(0, check.exitCode(), "promtool check metrics on what " + a.node() + " serves at " + a.metrics() + ":\n"
                        + check.describe());
            }
        } finally {
            Agents.restartNormally(bed, n1);
            It.deleteTree(dir);
        }
    }

    /** Prometheus in the client namespace, scraping each agent every second, its data under {@code dir}. */
    private static Background startPrometheus(TestBed bed, Path dir) throws IOException {
        StringBuilder yml = new StringBuilder("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n"
                + "  - job_name: svcmove\n    static_configs:\n");
        for (BedStatus.Agent a : bed.status().agents()) {
            assertTrue(a.metrics() != null, "the bed gives " + a.node() + "'s metrics address (test-vm/cluster status --json)");
            yml.append("      - targets: ['").append(a.metrics()).append("']\n        labels: {node: '").append(a.node()).append("'}\n");
        }
        Path config = dir.resolve("prometheus.yml");
        Files.writeString(config, yml);
        Background p = bed.startBackground(bed.client(), "prometheus", "--config.file=" + config, "--storage.tsdb.path=" + dir.resolve("data"),
                "--web.listen-address=127.0.0.1:9090");
        Wait.until(SEEN, () -> "Prometheus is ready at " + PROMETHEUS + "; it printed:\n" + p.output(), () -> p.isAlive()
                && bed.exec(bed.client(), It.SHORT, "curl", "-sSf", "--max-time", "2", PROMETHEUS + "/-/ready").ok());
        return p;
    }

    private static double moves(TestBed bed, String node, String outcome) {
        return value(bed, "svcmove_moves_total{node=\"" + node + "\",outcome=\"" + outcome + "\",mode=\"eager\"}").orElseThrow();
    }

    private static double running(TestBed bed, String node) {
        return value(bed, "svcmove_services{node=\"" + node + "\",state=\"running\"}").orElseThrow();
    }

    private static void awaitValue(TestBed bed, String query, double expected) {
        Wait.until(SEEN, () -> "Prometheus gives " + expected + " for " + query + "; it gives " + value(bed, query).orElse(Double.NaN)
                + " (NaN: no such series)",
                () -> value(bed, query).orElse(Double.NaN) == expected);
    }

    /** The one value Prometheus's query API gives for PROMQL now, or none when it has no series. */
    private static OptionalDouble value(TestBed bed, String promql) {
        ExecResult r = bed.exec(bed.client(), It.SHORT, "curl", "-sSf", "--max-time", "5", "-G", PROMETHEUS + "/api/v1/query",
                "--data-urlencode", "query=" + promql);
        JsonNode j = r.requireOk().json();
        assertEquals("success", j.path("status").asText(), "Prometheus answered " + promql + " with " + j);
        JsonNode result = j.path("data").path("result");
        assertTrue(result.size() <= 1, "one series for " + promql + ", not " + result);
        return result.isEmpty() ? OptionalDouble.empty() : OptionalDouble.of(Double.parseDouble(result.get(0).path("value").get(1).asText()));
    }
}
