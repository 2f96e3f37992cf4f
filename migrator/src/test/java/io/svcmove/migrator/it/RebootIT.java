package io.svcmove.migrator.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.svcmove.testbed.ExecResult;
import io.svcmove.testbed.Services;
import io.svcmove.testbed.TestBed;
import io.svcmove.testbed.Wait;
import io.svcmove.testbed.WithTestBed;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A node that restarts finds PIDs in its state that may belong to anything now. Here the node
 * "reboots" (agent SIGKILLed, the services' cells and processes gone) and a decoy takes a stored
 * PID, with the very start time recorded for it: only the cell tells it is not the service. The
 * restarted agent kills nothing, reports the service dead with the reason, and stop leaves the decoy.
 */
@WithTestBed
class RebootIT {
    @Test
    void aRestartedNodeNeverKillsTheProcessesItsStaleRecordsName(TestBed bed) throws Exception {
        String node = It.node(bed, 2);
        String peer = It.node(bed, 0);
        List<String> names = List.of("itbootrun", "itbootfrozen", "itbootdone");
        long decoy = 0;
        try {
            for (String name : names) {
                ExecResult r = bed.svcmove(node, "run", name, "--vip", It.cidr(bed, bed.nextVip()), "--", "sleep", "600");
                assertEquals(0, r.exitCode(), r.describe());
            }
            Agents.kill(bed, node, "KILL");
            for (String name : names) {
                String cell = node + "." + name;
                bed.execOutside(It.SHORT, "sh", "-c", "kill -9 $(ip netns pids " + cell + ") 2>/dev/null; ip netns delete " + cell)
                        .requireOk();
            }
            decoy = Long.parseLong(bed.exec(node, It.SHORT, "sh", "-c", "sleep 600 </dev/null >/dev/null 2>&1 & echo $!")
                    .requireOk().stdout().trim());
            String start = Files.readString(Path.of("/proc/" + decoy + "/stat"));
            long decoyStart = Long.parseLong(start.substring(start.lastIndexOf(')') + 2).split(" ")[19]);
            Path services = Path.of(Agents.of(bed, node).config()).resolveSibling("state").resolve("services");
            // One record as it was, one frozen mid-move (resumed or killed at start), one whose move had committed (killed).
            String[] stages = {null, "frozen", "committed"};
            for (int i = 0; i < names.size(); i++) {
                Path f = services.resolve(names.get(i) + ".json");
                ObjectNode rec = (ObjectNode) It.JSON.readTree(f.toFile());
                rec.put("pid", decoy).put("pidStart", decoyStart);
                if (stages[i] != null) {
                    rec.putObject("move").put("id", names.get(i) + "-0badf00d").put("to", peer).put("stage", stages[i]).put("lazy", false);
                }
                It.JSON.writeValue(f.toFile(), rec);
            }
            long mark = Agents.logMark(bed, node);
            Agents.start(bed, node);
            Wait.until(Duration.ofSeconds(30), "the restarted agent has settled its records: " + Services.on(bed, node).keySet(),
                    () -> Services.on(bed, node).values().stream().noneMatch(s -> s.has("move")));
            assertTrue(It.alive(decoy), "the decoy (pid " + decoy + ") survived the agent's start");
            JsonNode run = Services.on(bed, node).get("itbootrun");
            assertEquals("dead", run.path("state").asText(), run.toString());
            assertTrue(run.path("reason").asText().contains("cell"), "the reason names the missing cell: " + run);
            assertEquals("dead", Services.on(bed, node).get("itbootfrozen").path("state").asText());
            for (String name : List.of("itbootrun", "itbootfrozen")) {
                assertEquals(0, bed.svcmove(node, "stop", name).exitCode());
            }
            assertTrue(It.alive(decoy), "the decoy (pid " + decoy + ") survived 'svcmove stop'");
            String log = Agents.logSince(bed, node, mark);
            assertTrue(log.contains("is dead: its cell"), "the agent's log says why itbootrun is dead:\n" + log);
        } finally {
            if (decoy > 0) {
                bed.execOutside(It.SHORT, "kill", Long.toString(decoy));
            }
            Agents.ensureRunning(bed, node);
            names.forEach(n -> Services.stopEverywhere(bed, n));
        }
    }
}
