package io.svcmove.migrator.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.svcmove.migrator.control.Outcome;
import io.svcmove.migrator.move.MoveRunner;
import io.svcmove.migrator.move.OutgoingMove;
import io.svcmove.migrator.move.Phase;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** What the agent's /metrics says, served for real on loopback, its sources fixed. */
class AgentMetricsTest {
    private final Map<String, Long> services = new LinkedHashMap<>(Map.of("running", 2L, "failed", 0L, "dead", 1L));
    private final Map<String, Long> checkpoints = new LinkedHashMap<>(Map.of("web", 990_000L));
    private final Map<String, PeerProbe.State> peers = new LinkedHashMap<>();
    private AgentMetrics metrics;
    private int port;

    @BeforeEach
    void serve() throws Exception {
        peers.put("node2", new PeerProbe.State(true, -0.004));
        peers.put("node3", new PeerProbe.State(false, Double.NaN));
        metrics = new AgentMetrics("1.2.3");
        metrics.watch(new AgentMetrics.Sources(() -> services, () -> checkpoints, () -> peers, () -> 1_000_000L));
        port = metrics.serve(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    }

    @AfterEach
    void close() {
        metrics.close();
    }

    private String scrape() throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        return r.body();
    }

    private static void assertLine(String text, String line) {
        assertTrue(text.lines().anyMatch(line::equals), "a line '" + line + "' in:\n" + text);
    }

    private static OutgoingMove.Report report(boolean lazy, long freezeMicros, long bytes) {
        return report(lazy, freezeMicros, bytes, List.of(), 0);
    }

    private static OutgoingMove.Report report(boolean lazy, long freezeMicros, long bytes, List<OutgoingMove.Round> rounds,
            long finalPages) {
        Map<Phase, Long> phases = new LinkedHashMap<>();
        phases.put(Phase.PREPARE, 40_000L);
        phases.put(Phase.FREEZE, 60_000L);
        return new OutgoingMove.Report("web", "node1", "node2", 42, new MoveRunner.Result(phases, Map.of(), List.of()), freezeMicros,
                bytes, new OutgoingMove.Drained(3, 180, 0, 3), lazy, 0, null, rounds, finalPages, 0);
    }

    @Test
    void aPrecopyMoveCountsItsRoundsAndTheirPagesApartFromTheFinalDump() throws Exception {
        metrics.completed(report(false, 50_000, 40_960, List.of(new OutgoingMove.Round(1, 65_536, 268_435_456, 2_000_000),
                new OutgoingMove.Round(2, 400, 1_638_400, 90_000)), 10));
        String text = scrape();
        assertLine(text, "svcmove_move_precopy_rounds_count 1");
        assertLine(text, "svcmove_move_precopy_rounds_sum 2.0");
        assertLine(text, "svcmove_move_precopy_rounds_bucket{le=\"1.0\"} 0");
        assertLine(text, "svcmove_move_precopy_rounds_bucket{le=\"2.0\"} 1");
        assertLine(text, "svcmove_move_precopy_pages_total{dump=\"pre-dump\"} 65936.0");
        assertLine(text, "svcmove_move_precopy_pages_total{dump=\"final\"} 10.0");
        assertLine(text, "svcmove_move_freeze_seconds_count{mode=\"precopy\"} 1");
        assertLine(text, "svcmove_move_image_bytes_total{mode=\"precopy\"} " + (40_960.0 + 268_435_456 + 1_638_400));
    }

    /**
     * promtool's lint (names, units, types, help) over a scrape in which every family has samples:
     * MetricsIT runs it on the bed's agents, whose pre-copy families stay empty there (no soft-dirty).
     */
    @Test
    void promtoolAcceptsAScrapeAfterAPrecopyAnEagerAndALazyMove() throws Exception {
        Path promtool = Path.of("/usr/bin/promtool");
        Assumptions.assumeTrue(Files.isExecutable(promtool), "promtool (Debian's prometheus package) is not installed");
        metrics.completed(report(false, 50_000, 40_960, List.of(new OutgoingMove.Round(1, 65_536, 268_435_456, 2_000_000)), 10));
        metrics.completed(report(false, 150_000, 4_000_000));
        metrics.completed(report(true, 80_000, 1_000_000));
        metrics.ended("precopy", Outcome.OK);
        metrics.ended("lazy", Outcome.ROLLED_BACK);
        Process check = new ProcessBuilder(promtool.toString(), "check", "metrics").redirectErrorStream(true).start();
        try (OutputStream in = check.getOutputStream()) {
            in.write(scrape().getBytes(StandardCharsets.UTF_8));
        }
        String said = new String(check.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!check.waitFor(30, TimeUnit.SECONDS)) {
            check.destroyForcibly();
            throw new AssertionError("promtool did not end within 30 s; it said:\n" + said);
        }
        assertEquals(0, check.exitValue(), "promtool check metrics:\n" + said);
        assertEquals("", said.strip(), "promtool's lint found nothing to say");
    }

    @Test
    void everyOutcomeAndModeStartsAtZero() throws Exception {
        String text = scrape();
        for (String outcome : List.of("ok", "refused", "rolled_back", "failed", "unknown")) {
            for (String mode : List.of("eager", "lazy", "precopy")) {
                assertLine(text, "svcmove_moves_total{mode=\"" + mode + "\",outcome=\"" + outcome + "\"} 0.0");
            }
        }
        assertLine(text, "svcmove_move_freeze_seconds_count{mode=\"eager\"} 0");
    }

    @Test
    void movesAreCountedByOutcomeAndMode() throws Exception {
        metrics.ended("eager", Outcome.OK);
        metrics.ended("eager", Outcome.OK);
        metrics.ended("auto", Outcome.REFUSED);
        metrics.ended("lazy", Outcome.ROLLED_BACK);
        String text = scrape();
        assertLine(text, "svcmove_moves_total{mode=\"eager\",outcome=\"ok\"} 2.0");
        assertLine(text, "svcmove_moves_total{mode=\"auto\",outcome=\"refused\"} 1.0");
        assertLine(text, "svcmove_moves_total{mode=\"lazy\",outcome=\"rolled_back\"} 1.0");
        assertLine(text, "svcmove_moves_total{mode=\"eager\",outcome=\"refused\"} 0.0");
    }

    @Test
    void aCompletedMoveFillsTheHistogramsAndTheBytes() throws Exception {
        metrics.completed(report(false, 150_000, 4_000_000));
        metrics.completed(report(true, 80_000, 1_000_000));
        String text = scrape();
        assertLine(text, "svcmove_move_freeze_seconds_bucket{mode=\"eager\",le=\"0.1\"} 0");
        assertLine(text, "svcmove_move_freeze_seconds_bucket{mode=\"eager\",le=\"0.2\"} 1");
        assertLine(text, "svcmove_move_freeze_seconds_sum{mode=\"eager\"} 0.15");
        assertLine(text, "svcmove_move_freeze_seconds_bucket{mode=\"lazy\",le=\"0.1\"} 1");
        assertLine(text, "svcmove_move_phase_seconds_count{phase=\"prepare\"} 2");
        assertLine(text, "svcmove_move_phase_seconds_sum{phase=\"freeze\"} 0.12");
        assertLine(text, "svcmove_move_phase_seconds_count{phase=\"commit\"} 0");
        assertLine(text, "svcmove_move_image_bytes_total{mode=\"eager\"} 4000000.0");
        assertLine(text, "svcmove_move_image_bytes_total{mode=\"lazy\"} 1000000.0");
    }

    @Test
    void theAgentsStateIsReadAtEachScrape() throws Exception {
        String text = scrape();
        assertLine(text, "svcmove_build_info{version=\"1.2.3\"} 1");
        assertLine(text, "svcmove_services{state=\"running\"} 2.0");
        assertLine(text, "svcmove_services{state=\"dead\"} 1.0");
        assertLine(text, "svcmove_checkpoint_age_seconds{service=\"web\"} 10.0");
        assertLine(text, "svcmove_peer_up{peer=\"node2\"} 1.0");
        assertLine(text, "svcmove_peer_up{peer=\"node3\"} 0.0");
        assertLine(text, "svcmove_peer_clock_offset_seconds{peer=\"node2\"} -0.004");
        assertFalse(text.contains("svcmove_peer_clock_offset_seconds{peer=\"node3\"}"), "an unreachable peer has no offset:\n" + text);
        services.put("running", 3L);
        assertLine(scrape(), "svcmove_services{state=\"running\"} 3.0");
    }

    @Test
    void thePacketBuffersTotalsAndTheJvmAreThere() throws Exception {
        String text = scrape();
        for (String name : List.of("svcmove_buffer_buffered_packets_total", "svcmove_buffer_buffered_bytes_total",
                "svcmove_buffer_dropped_packets_total", "svcmove_buffer_injected_packets_total")) {
            assertTrue(text.lines().anyMatch(l -> l.startsWith(name + " ")), name + " in:\n" + text);
        }
        assertTrue(text.contains("\njvm_memory_used_bytes{"), "the JVM's metrics in:\n" + text);
    }
}
