package io.svcmove.migrator.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.svcmove.testbed.Background;
import io.svcmove.testbed.Services;
import io.svcmove.testbed.TestBed;
import io.svcmove.testbed.Wait;
import io.svcmove.testbed.WithTestBed;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Issue 15: a UDP service (a small responder, as a DNS server answers) moved there and back while a
 * client sends a query every 10 ms and never retransmits: what the client sent during the freeze was
 * buffered by the source and injected into the service where it arrived, so no query is lost and
 * every answer is right. The longest wait is printed.
 */
@WithTestBed
class UdpMoveIT {
    private static final int PORT = 5353;

    @Test
    void aUdpServiceAnswersEveryQuerySentDuringItsMoves(TestBed bed) throws Exception {
        String n1 = It.node(bed, 0);
        String n2 = It.node(bed, 1);
        String name = "itudp";
        String vip = bed.nextVip();
        Path stop = Files.createTempFile("svcmove-itudp-", ".stop");
        Files.delete(stop);
        try {
            Services.run(bed, n1, name, vip, "python3", Services.script(UdpMoveIT.class, "udp_server.py"), vip, Integer.toString(PORT));
            try (Background client = bed.startBackground(bed.client(), "python3", Services.script(UdpMoveIT.class, "udp_client.py"), vip,
                    Integer.toString(PORT), "10", stop.toString(), "120")) {
                Wait.until(Duration.ofSeconds(20), "the client's first query is answered: " + client.output(),
                        () -> client.output().contains("ready") || !client.isAlive());
                assertTrue(client.output().contains("ready"), "the service answers before the moves: " + client.output());
                Wait.sleep(300);
                Services.move(bed, n1, name, n2);
                Wait.sleep(300);
                Services.move(bed, n2, name, n1);
                Wait.sleep(300);
                Files.writeString(stop, "");
                Wait.until(Duration.ofSeconds(30), "the client stops", () -> !client.isAlive());
                JsonNode r = It.JSON.readTree(client.output().lines().filter(l -> l.startsWith("{")).reduce((a, b) -> b)
                        .orElseThrow(() -> new AssertionError("the client printed no result: " + client.output())));
                System.out.println("UdpMoveIT: a query every 10 ms across two moves: " + r);
                assertTrue(r.path("sent").asInt() > 100, "the client kept sending across both moves: " + r);
                assertEquals(0, r.path("wrong").asInt(), "wrong answers: " + r);
                assertEquals(r.path("sent").asInt(), r.path("answered").asInt(), "every query answered, none lost: " + r);
            }
            assertEquals(Map.of(n1, "running"), Services.whereIs(bed, name));
        } finally {
            Services.stopEverywhere(bed, name);
            Files.deleteIfExists(stop);
        }
    }
}
