package io.svcmove.testbed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The VM bed (SVCMOVE_BED=vm, make test-vm): fresh VMs with svcmove installed, its agent active under
 * systemd (hardened: umask 0077, a narrower capability bounding set), and `svcmove nodes` on node1 lists every node, each with its own kernel and its own boot.
 * Skipped on the netns bed, whose nodes share the machine's kernel.
 */
@WithTestBed
class VmNodesIT {
    private static final Duration SHORT = Duration.ofSeconds(60);

    @Test
    void nodesListsEveryNodeWithItsOwnKernelAndBoot(TestBed bed) throws IOException {
        assumeTrue(bed.isVm(), "a VM bed test (SVCMOVE_BED=vm)");
        String hostKernel = Files.readString(Path.of("/proc/sys/kernel/osrelease")).strip();
        Map<String, String> kernels = new HashMap<>();
        Set<String> bootIds = new HashSet<>();
        for (String node : bed.nodes()) {
            assertEquals("active", bed.exec(node, SHORT, "systemctl", "is-active", "svcmove-agent").requireOk().stdout().strip(),
                    node + ": the agent runs under systemd");
            // The unit's hardening (issue 18): root-only files, and no capability to load modules (bit 16).
            String status = bed.exec(node, SHORT, "sh", "-c", "cat /proc/$(systemctl show -p MainPID --value svcmove-agent)/status")
                    .requireOk().stdout();
            assertTrue(status.contains("Umask:\t0077"), node + ": the agent's umask: " + status);
            long bounding = Long.parseUnsignedLong(status.replaceAll("(?s).*CapBnd:\t([0-9a-f]+).*", "$1"), 16);
            assertEquals(0, bounding & (1L << 16), node + ": CAP_SYS_MODULE is out of the agent's bounding set: " + Long.toHexString(bounding));
            assertTrue((bounding & (1L << 25)) != 0, node + ": CAP_SYS_TIME, which CRIU needs for time namespaces, is in it: "
                    + Long.toHexString(bounding));
            kernels.put(node, bed.exec(node, SHORT, "uname", "-r").requireOk().stdout().strip());
            bootIds.add(bed.exec(node, SHORT, "cat", "/proc/sys/kernel/random/boot_id").requireOk().stdout().strip());
        }
        assertEquals(bed.nodes().size(), bootIds.size(), "every node booted on its own: " + bootIds);

        // Under emulation a peer's first TLS handshake can outlast the agent's 3 s question: ask again.
        ExecResult r = null;
        JsonNode nodes = null;
        for (int attempt = 0; attempt < 4; attempt++) {
            r = bed.svcmove(bed.nodes().get(0), "nodes", "--json").requireOk();
            nodes = new ObjectMapper().readTree(r.stdout()).path("nodes");
            boolean all = true;
            for (JsonNode n : nodes) {
                all &= n.path("reachable").asBoolean();
            }
            if (all) {
                break;
            }
        }
        assertEquals(bed.nodes().size(), nodes.size(), r.describe());
        for (JsonNode n : nodes) {
            String name = n.path("node").asText();
            assertTrue(n.path("reachable").asBoolean(), name + " is reachable: " + n);
            assertEquals(kernels.get(name), n.path("kernel").asText(), name + "'s own kernel: " + n);
            assertNotEquals(hostKernel, n.path("kernel").asText(), name + " runs the guest's kernel, not this machine's");
            if (!name.equals(bed.nodes().get(0))) {
                JsonNode c = n.path("clock_offset");
                double boot = Math.abs(c.path("boottime_ms").asDouble());
                assertTrue(boot > c.path("uncertainty_ms").asDouble(),
                        name + "'s boot-time clock differs from node1's by more than the uncertainty: " + c);
            }
        }
    }
}
