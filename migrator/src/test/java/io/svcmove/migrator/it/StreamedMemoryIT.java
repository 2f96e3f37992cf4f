package io.svcmove.migrator.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.svcmove.testbed.ExecResult;
import io.svcmove.testbed.Services;
import io.svcmove.testbed.TestBed;
import io.svcmove.testbed.Wait;
import io.svcmove.testbed.WithTestBed;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Issue 16: a streamed eager move of a service with 64 MiB of memory or more is restored without
 * its memory, and CRIU copies the memory in from the pages that streamed to the destination during
 * the dump while the service runs there; the commit waits until the last page is in. The service
 * (memory_check.py: random pages, hashed every half second) finds its memory whole both ways. When
 * that copy fails (fault at {@code dest-pages} on the destination), the destination removes its
 * copy and the source resumes its own, still whole: the move rolls back (exit 4) and the service
 * runs on exactly one node.
 */
@WithTestBed
class StreamedMemoryIT {
    private static final String MB = "160";
    private static final Duration READY = Duration.ofSeconds(60);
    private static final Pattern COPIED_IN = Pattern.compile("move (\\S+): (\\d+) MiB of memory copied in after the restore");

    @Test
    void aLargeServicesMemoryIsCopiedInAfterItsRestoreWholeBothWays(TestBed bed) throws Exception {
        String n1 = It.node(bed, 0);
        String n2 = It.node(bed, 1);
        String name = "itmemoryafter";
        start(bed, n1, name);
        try {
            for (String[] hop : List.of(new String[] {n1, n2}, new String[] {n2, n1})) {
                long mark = Agents.logMark(bed, hop[1]);
                JsonNode moved = Services.move(bed, hop[0], name, hop[1], "--mode", "eager");
                String log = Agents.logSince(bed, hop[1], mark);
                Matcher after = COPIED_IN.matcher(log);
                assertTrue(after.find() && Long.parseLong(after.group(2)) >= Long.parseLong(MB),
                        "the destination copies the memory in after the restore:\n" + log);
                assertTrue(log.contains("move " + after.group(1) + ": every page of " + name + " arrived"),
                        "and says when it is done:\n" + log);
                assertTrue(moved.path("memory_after_restore_bytes").asLong() >= Long.parseLong(MB) << 20, "--json says so: " + moved);
                System.out.println("StreamedMemoryIT: " + hop[0] + " -> " + hop[1] + ": frozen " + moved.path("freeze_ms").asLong()
                        + " ms, steps " + moved.path("steps_ms"));
                assertWhole(bed, hop[1], name);
            }
        } finally {
            Services.stopEverywhere(bed, name);
        }
    }

    @Test
    void aFailedCopyOfTheMemoryResumesTheSourcesCopy(TestBed bed) throws Exception {
        String n1 = It.node(bed, 0);
        String n2 = It.node(bed, 1);
        String name = "itmemorylost";
        Path fault = Files.createTempFile("svcmove-memory-fault-", "");
        Files.writeString(fault, "fail dest-pages\n");
        start(bed, n1, name);
        Agents.kill(bed, n2, "TERM");
        Agents.start(bed, n2, Agents.of(bed, n2).config(), "SVCMOVE_FAULTS=" + fault);
        try {
            ExecResult move = bed.svcmove(n1, name, n2, "--mode", "eager");
            assertEquals(4, move.exitCode(), "rolled back:\n" + move.describe());
            assertTrue(move.stderr().contains(n2 + " has no copy of " + name + ": ")
                    && move.stderr().contains("copying its memory in from the images here failed"), "the cause:\n" + move.describe());
            assertEquals(Map.of(n1, "running"), Services.whereIs(bed, name), "on the source only");
            assertFalse(Services.cells(bed).stream().anyMatch(c -> c.startsWith(n2 + ".")), "no cell left on " + n2);
            assertWhole(bed, n1, name);
        } finally {
            Services.stopEverywhere(bed, name);
            Agents.restartNormally(bed, n2);
            for (String f : List.of("", ".fired")) {
                Files.deleteIfExists(Path.of(fault + f));
            }
        }
    }

    private static void start(TestBed bed, String node, String name) {
        Services.run(bed, node, name, bed.nextVip(), "python3", Services.script(StreamedMemoryIT.class, "memory_check.py"), MB);
        Wait.until(READY, name + " fills its memory", () -> Services.log(bed, node, name).stream().anyMatch(l -> l.startsWith("ready")));
    }

    /** Two more checks of its memory on NODE, after the move, and no bad one anywhere. */
    private static void assertWhole(TestBed bed, String node, String name) {
        int before = oks(bed, node, name);
        Wait.until(READY, name + " checks its memory on " + node, () -> oks(bed, node, name) >= before + 2);
        for (String n : bed.nodes()) {
            List<String> bad = Services.log(bed, n, name).stream().filter(l -> !l.equals("ok") && !l.startsWith("ready")).toList();
            assertEquals(List.of(), bad, "its memory on " + n);
        }
    }

    private static int oks(TestBed bed, String node, String name) {
        return (int) Services.log(bed, node, name).stream().filter("ok"::equals).count();
    }
}
