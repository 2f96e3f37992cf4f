package io.svcmove.testbed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** test-vm/cluster refuses non-root callers before it touches anything. */
class ClusterScriptGuardTest {
    @Test
    void nonRootIsToldRootIsNeeded() {
        Path script = TestBedExtension.findCheckout(Path.of("").toAbsolutePath()).resolve("test-vm/cluster");
        for (String cmd : List.of("up", "down", "status", "exec")) {
            List<String> command = new ArrayList<>();
            if (TestBedExtension.isRoot()) {
                // As root, drop to nobody: the guard is what is under test, not the bed.
                command.addAll(List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"));
            }
            command.addAll(List.of("bash", script.toString(), cmd, "--prefix", "zz"));
            ExecResult r = TestBed.run(command, Duration.ofSeconds(10));
            assertEquals(77, r.exitCode(), r.describe());
            assertTrue(r.stderr().contains("must run as root"), r.describe());
        }
    }
}
