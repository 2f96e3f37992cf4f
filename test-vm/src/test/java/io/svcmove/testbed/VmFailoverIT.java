package io.svcmove.testbed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Issue 14: a lost server. node2 runs a service checkpointed every 10 s when it is crashed (VM:
 * powered off at once; netns: every process of the node and its cells SIGKILLed); `svcmove
 * recover` brings the service up on node3 from its last checkpoint, and clients reach it by its DNS
 * name. Then node2 boots again: its agent comes back (under systemd on VMs), neither restarts the
 * service nor claims its VIP, and drops its stale record once node3 says it runs the service
 * (checking first that the PID it stored is not the service's any more), while node3's copy keeps
 * answering. VM bed only: a netns node's crash leaves its cells' namespaces, whose VIPs still
 * answer ARP (FailoverIT removes the cell to play a lost node, and shows the stale record dropped there).
 */
@WithTestBed
class VmFailoverIT {
    private static final Duration LONG = Duration.ofSeconds(420);
    private static final String NAME = "itlost";
    /** Answers each GET with the count of requests so far: what a checkpoint keeps. */
    private static final String COUNTER = """
            import http.server
            n = 0
            class H(http.server.BaseHTTPRequestHandler):
                def do_GET(self):
                    global n
                    n += 1
                    b = b"%d\\n" % n
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(b)))
                    self.end_headers()
                    self.wfile.write(b)
                def log_message(self, *a):
                    pass
            http.server.HTTPServer(("", 8080), H).serve_forever()
            """;

    @Test
    void aCrashedNodesServiceIsRecoveredElsewhereAndTheNodeBackFromItsBootLetsItBe(TestBed bed) throws Exception {
        assumeTrue(bed.isVm(), "a VM bed test (SVCMOVE_BED=vm)");
        String n2 = bed.nodes().get(1);
        String n3 = bed.nodes().get(2);
        String vip = bed.nextVip();
        String host = NAME + "." + bed.zone().replaceAll("\\.$", "");
        boolean crashed = false;
        try {
            ExecResult run = bed.svcmove(n2, "run", NAME, "--vip", vip + "/" + bed.prefixLength(), "--dns", NAME, "--checkpoint-every",
                    "10s", "--", "python3", "-c", COUNTER);
            assertEquals(0, run.exitCode(), run.describe());
            Wait.until(LONG, NAME + " answers by its name", () -> get(bed, host).equals("1"));
            assertEquals("2", get(bed, host));
            long served = System.currentTimeMillis();
            Wait.until(LONG, "a checkpoint of " + NAME + " taken after its second request", () -> checkpoint(bed, n2).path("taken_at")
                    .asLong() > served);

            cluster(bed, "crash", n2);
            crashed = true;
            ExecResult recovered = bed.exec(n3, LONG, "svcmove", "recover", NAME, "--json");
            assertEquals(0, recovered.exitCode(), "svcmove recover on " + n3 + ":\n" + recovered.describe());
            assertEquals(n3, recovered.json().path("node").asText(), recovered.describe());
            assertEquals("3", get(bed, host), "the first answer after the recovery, by the DNS name: the state of the checkpoint");

            cluster(bed, "boot", n2);
            crashed = false;
            Wait.until(Duration.ofMinutes(5), n2 + "'s agent answers again", () -> bed.exec(n2, LONG, "svcmove", "status").ok());
            Wait.until(Duration.ofMinutes(3), n2 + " drops its stale record of " + NAME + ": " + Services.on(bed, n2),
                    () -> !Services.on(bed, n2).containsKey(NAME));
            assertEquals(Map.of(n3, "running"), Services.whereIs(bed, NAME), "it runs once, on " + n3);
            assertFalse(Services.cells(bed).contains(n2 + "." + NAME), n2 + " has no cell of " + NAME + ": " + Services.cells(bed));
            assertFalse(bed.exec(n2, LONG, "sh", "-c", "ip -o addr; for n in $(ip netns list | cut -d' ' -f1); do ip -n $n -o addr; done")
                    .requireOk().stdout().contains(" " + vip + "/"), n2 + " does not claim the VIP " + vip);
            assertTrue(bed.exec(n2, LONG, "journalctl", "-u", "svcmove-agent", "--no-pager").stdout().contains("stale record"),
                    n2 + "'s agent says why it dropped the record");
            assertEquals("4", get(bed, host), n3 + "'s copy keeps answering");
        } finally {
            if (crashed) {
                cluster(bed, "boot", n2);
            }
            Services.stopEverywhere(bed, NAME);
        }
    }

    private static String get(TestBed bed, String host) {
        return bed.exec(bed.client(), Duration.ofSeconds(30), "curl", "-sS", "--max-time", "20", "http://" + host + ":8080/").stdout().strip();
    }

    private static JsonNode checkpoint(TestBed bed, String node) {
        ExecResult r = bed.exec(node, LONG, "svcmove", "status", NAME, "--json");
        return r.ok() ? r.json().path("checkpoint") : com.fasterxml.jackson.databind.node.MissingNode.getInstance();
    }

    private static void cluster(TestBed bed, String cmd, String node) {
        bed.execOutside(LONG, bed.checkout().resolve("test-vm/cluster").toString(), cmd, "--prefix", bed.prefix(), node).requireOk();
    }
}
