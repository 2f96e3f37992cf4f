package io.svcmove.migrator.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.svcmove.testbed.ExecResult;
import io.svcmove.testbed.TestBed;
import io.svcmove.testbed.WithTestBed;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** A tree with a process of another uid, where root lacks CAP_SYS_RESOURCE, is refused before the freeze. */
@WithTestBed
class ForeignUidIT {
    @Test
    void aTreeWithAnotherUidIsRefusedWhereRootLacksCapSysResource(TestBed bed) throws Exception {
        String self = Files.readString(Path.of("/proc/self/status"));
        boolean capable = self.lines().filter(l -> l.startsWith("CapEff:"))
                .anyMatch(l -> (Long.parseUnsignedLong(l.substring(7).trim(), 16) >>> 24 & 1) == 1);
        String n1 = bed.nodes().get(0);
        String n2 = bed.nodes().get(1);
        String vip = bed.nextVip();
        ExecResult run = bed.svcmove(n1, "run", "ituid", "--vip", vip + "/" + bed.prefixLength(), "--", "/bin/bash", "-c",
                "setpriv --reuid=65534 --regid=65534 --clear-groups sleep 3600 & exec sleep 3600");
        assertEquals(0, run.exitCode(), run.describe());
        try {
            ExecResult move = bed.svcmove(n1, "ituid", n2);
            if (capable) {
                // A host whose root has the capability moves such a tree; nothing to refuse there.
                assertEquals(0, move.exitCode(), move.describe());
                return;
            }
            assertEquals(3, move.exitCode(), "refused before anything changed:\n" + move.describe());
            assertTrue(move.stderr().contains("uid 65534") && move.stderr().contains("CAP_SYS_RESOURCE"),
                    "the message names the uid and the capability:\n" + move.describe());
            ExecResult status = bed.svcmove(n1, "status", "ituid");
            assertEquals(0, status.exitCode(), "it still runs on " + n1 + ":\n" + status.describe());
        } finally {
            String holder = bed.svcmove(n1, "status", "ituid").exitCode() == 0 ? n1 : n2;
            bed.svcmove(holder, "stop", "ituid");
        }
    }
}
