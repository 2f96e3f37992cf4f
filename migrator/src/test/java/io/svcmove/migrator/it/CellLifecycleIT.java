package io.svcmove.migrator.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.svcmove.testbed.Background;
import io.svcmove.testbed.ExecResult;
import io.svcmove.testbed.Services;
import io.svcmove.testbed.TestBed;
import io.svcmove.testbed.Wait;
import io.svcmove.testbed.WithTestBed;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Issue 3: a service in its own cell, reachable at its VIP only, seen by others with the VIP as its
 * address, removed without a trace by `stop`, surviving an agent restart; and the CLI's refusals,
 * each with its exit code and cause, leaving nothing behind.
 */
@WithTestBed
class CellLifecycleIT {

    @Test
    void nginxInACellAnswersAtItsVipAndStopLeavesNothing(TestBed bed) throws Exception {
        String node = It.node(bed, 0);
        List<String> cellsBefore = Services.cells(bed);
        try (Site site = new Site(bed, "itcell", bed.nextVip(), "8m")) {
            ExecResult run = site.run(node, site.nginx());
            assertEquals(0, run.exitCode(), run.describe());
            assertEquals("hello from itcell\n",
                    bed.exec(bed.client(), It.SHORT, "curl", "-sS", "--max-time", "5", site.url("index.html")).stdout(),
                    "what the client gets from " + site.url("index.html"));

            JsonNode svc = Services.on(bed, node).get(site.name);
            assertTrue(svc != null && svc.path("state").asText().equals("running"), "status on " + node + ": " + svc);
            assertEquals(It.cidr(bed, site.vip), svc.path("vip").asText(), "vip in status: " + svc);
            assertEquals(node, svc.path("node").asText(), "node in status: " + svc);
            String mac = svc.path("mac").asText();
            List<Long> pids = new ArrayList<>();
            svc.path("pids").forEach(p -> pids.add(p.asLong()));
            assertFalse(pids.isEmpty(), "status lists the service's pids: " + svc);
            assertTrue(pids.stream().allMatch(It::alive), "the listed pids run: " + pids);
            assertTrue(Services.cells(bed).contains(node + "." + site.name), "cell netns exists: " + Services.cells(bed));

            ExecResult stop = bed.svcmove(node, "stop", site.name);
            assertEquals(0, stop.exitCode(), stop.describe());
            assertEquals(cellsBefore, Services.cells(bed), "cells after stop (no netns " + node + "." + site.name + ")");
            Wait.until(It.SHORT, "every pid of the stopped service is gone: " + pids,
                    () -> pids.stream().noneMatch(It::alive));
            String links = bed.exec(node, It.SHORT, "ip", "-o", "link").requireOk().stdout();
            assertFalse(links.toLowerCase().contains(mac.toLowerCase()), "no link with the service's MAC " + mac
                    + " left on " + node + ":\n" + links);
            assertFalse(Services.on(bed, node).containsKey(site.name), "status no longer lists " + site.name);
            assertEquals("000", It.httpCode(bed, site.url("index.html")), "nothing answers at the VIP after stop");
        }
    }

    @Test
    void connectionsFromTheServiceComeFromTheVip(TestBed bed) {
        String node = It.node(bed, 0);
        String client = bed.client();
        String clientAddr = bed.address(client);
        String vip = bed.nextVip();
        int port = 18000 + Integer.parseInt(vip.substring(vip.lastIndexOf('.') + 1));
        String server = "import socket\n"
                + "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
                + "s.bind(('" + clientAddr + "', " + port + ")); s.listen(1); s.settimeout(30)\n"
                + "print('listening', flush=True)\n"
                + "c, peer = s.accept(); print('peer', peer[0], flush=True); c.close()\n";
        try (Background listener = bed.startBackground(client, "python3", "-c", server)) {
            Wait.until(It.SHORT, "the client's listener is up: " + listener.output(),
                    () -> listener.output().contains("listening") || !listener.isAlive());
            ExecResult run = bed.svcmove(node, "run", "itdial", "--vip", It.cidr(bed, vip), "--",
                    "/bin/bash", "-c", "exec 3<>/dev/tcp/" + clientAddr + "/" + port + "; sleep 30");
            assertEquals(0, run.exitCode(), run.describe());
            Wait.until(It.SHORT, "the client saw a connection (its listener printed: " + listener.output() + ")",
                    () -> listener.output().contains("peer "));
            assertTrue(listener.output().contains("peer " + vip + "\n"),
                    "the client sees the service's connection come from the VIP " + vip + "; it printed: " + listener.output());
        } finally {
            Services.stopEverywhere(bed, "itdial");
        }
    }

    @Test
    void anAgentRestartKeepsTheService(TestBed bed) {
        String node = It.node(bed, 0);
        try (Site site = new Site(bed, "itkeep", bed.nextVip(), "8m")) {
            site.start(node);
            JsonNode before = Services.on(bed, node).get(site.name);
            long pid = before.path("pid").asLong();
            try {
                Agents.kill(bed, node, "KILL");
                assertTrue(It.alive(pid), "the service (pid " + pid + ") outlives its agent");
                assertEquals("200", It.httpCode(bed, site.url("index.html")), "it answers while its agent is down");
            } finally {
                Agents.ensureRunning(bed, node);
            }
            JsonNode after = Services.on(bed, node).get(site.name);
            assertTrue(after != null, "status after the agent's restart lists " + site.name + ": " + Services.on(bed, node));
            assertEquals("running", after.path("state").asText(), "state after the agent's restart: " + after);
            assertEquals(pid, after.path("pid").asLong(), "same pid after the agent's restart: " + after);
            assertEquals("200", It.httpCode(bed, site.url("index.html")), "it still answers");
        }
    }

    /** Each refusal: its exit code, a message naming the cause, and no cell left behind. */
    @Test
    void badInputIsRefusedWithItsCauseAndLeavesNothing(TestBed bed) throws IOException {
        String node = It.node(bed, 0);
        String vip = bed.nextVip();
        String clientAddr = bed.address(bed.client());
        String outside = bed.address(node).replaceFirst("\\.\\d+\\.\\d+$", ".") + "1." + vip.substring(vip.lastIndexOf('.') + 1);
        List<String> cellsBefore = Services.cells(bed);
        Map<String, JsonNode> servicesBefore = Services.on(bed, node);
        Path config = null;
        try (Site site = new Site(bed, "itdup", bed.nextVip(), "8m")) {
            refused(bed, node, cellsBefore, 3, "eth9", "unknown interface",
                    "run", "itbad", "--vip", It.cidr(bed, vip), "--dev", "eth9", "--", "/bin/sleep", "60");
            refused(bed, node, cellsBefore, 3, outside, "VIP outside the subnet",
                    "run", "itbad", "--vip", It.cidr(bed, outside), "--", "/bin/sleep", "60");
            refused(bed, node, cellsBefore, 3, clientAddr, "VIP in use on the LAN (the client's address)",
                    "run", "itbad", "--vip", It.cidr(bed, clientAddr), "--", "/bin/sleep", "60");
            refused(bed, node, cellsBefore, 3, "command not found", "command not found",
                    "run", "itbad", "--vip", It.cidr(bed, vip), "--", "/nonexistent/itcmd");

            // A duplicate name: refused, and the first one keeps running untouched.
            site.start(node);
            List<String> withSite = Services.cells(bed);
            long pid = Services.on(bed, node).get(site.name).path("pid").asLong();
            refused(bed, node, withSite, 3, "itdup", "duplicate name",
                    "run", "itdup", "--vip", It.cidr(bed, vip), "--", "/bin/sleep", "60");
            assertEquals(pid, Services.on(bed, node).get(site.name).path("pid").asLong(), "the first itdup is untouched");
            assertEquals("200", It.httpCode(bed, site.url("index.html")), "the first itdup still answers");
            site.close();

            ExecResult notRoot = bed.exec(node, It.SHORT, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                    bed.checkout().resolve("bin/svcmove").toString(), "run", "itbad", "--vip", It.cidr(bed, vip), "--",
                    "/bin/sleep", "60");
            assertEquals(77, notRoot.exitCode(), "not root:\n" + notRoot.describe());
            assertTrue(notRoot.stderr().contains("root"), "the message says it needs root:\n" + notRoot.describe());
            assertEquals(cellsBefore, Services.cells(bed), "cells after the refusal as non-root");

            // The node's own config, but its socket names a path nobody listens on.
            config = Files.createTempFile("svcmove-it-agent-", ".toml");
            String socket = config + ".sock";
            Files.writeString(config, Files.readString(Path.of(Agents.of(bed, node).config()))
                    .replaceAll("(?m)^socket\\s*=.*$", "socket = \"" + socket + "\""));
            ExecResult noAgent = bed.svcmove(node, "run", "itbad", "--config", config.toString(), "--vip",
                    It.cidr(bed, vip), "--", "/bin/sleep", "60");
            assertEquals(69, noAgent.exitCode(), "agent not running:\n" + noAgent.describe());
            assertTrue(noAgent.stderr().contains(socket), "the message names the socket nobody answers at:\n" + noAgent.describe());
            assertEquals(cellsBefore, Services.cells(bed), "cells after the call with no agent");
            assertEquals(servicesBefore.keySet(), Services.on(bed, node).keySet(), "services of " + node + " after it all");
        } finally {
            Services.stopEverywhere(bed, "itbad");
            if (config != null) {
                Files.deleteIfExists(config);
            }
        }
    }

    private static void refused(TestBed bed, String node, List<String> cellsBefore, int code, String cause, String what,
            String... args) {
        ExecResult r = bed.svcmove(node, args);
        assertEquals(code, r.exitCode(), what + ":\n" + r.describe());
        assertTrue(r.stderr().contains(cause), what + ": the message names '" + cause + "':\n" + r.describe());
        assertEquals(cellsBefore, Services.cells(bed), what + ": cells after the refusal");
    }
}
