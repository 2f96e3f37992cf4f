package io.svcmove.testbed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TestBedRunTest {
    @Test
    void capturesExitCodeAndBothStreams() {
        ExecResult r = TestBed.run(List.of("sh", "-c", "echo out; echo err >&2; exit 3"), Duration.ofSeconds(10));
        assertEquals(3, r.exitCode());
        assertEquals("out\n", r.stdout());
        assertEquals("err\n", r.stderr());
        assertFalse(r.ok());
        assertThrows(IllegalStateException.class, r::requireOk);
    }

    @Test
    void killsTheTreeAtTheTimeout() {
        long start = System.nanoTime();
        ExecResult r = TestBed.run(List.of("sh", "-c", "sleep 30 & echo $!; wait"), Duration.ofMillis(500));
        assertTrue(r.timedOut());
        assertTrue(Duration.ofNanos(System.nanoTime() - start).compareTo(Duration.ofSeconds(5)) < 0);
        long child = Long.parseLong(r.stdout().trim());
        assertFalse(ProcessHandle.of(child).map(ProcessHandle::isAlive).orElse(false), "the sleep child survived");
    }

    @Test
    void aChildHoldingStdoutDoesNotHoldTheCaller() {
        long start = System.nanoTime();
        ExecResult r = TestBed.run(List.of("sh", "-c", "sleep 3 & echo $!"), Duration.ofSeconds(10));
        assertTrue(Duration.ofNanos(System.nanoTime() - start).compareTo(Duration.ofSeconds(2)) < 0);
        assertTrue(r.ok());
        ProcessHandle.of(Long.parseLong(r.stdout().trim())).ifPresent(ProcessHandle::destroy);
    }

    @Test
    void findsTheCheckoutUpwards(@TempDir Path dir) throws IOException {
        Files.createDirectories(dir.resolve("test-vm"));
        Files.writeString(dir.resolve("test-vm/cluster"), "#!/bin/sh\n");
        Path deep = Files.createDirectories(dir.resolve("migrator/target"));
        assertEquals(dir, TestBedExtension.findCheckout(deep));
        assertThrows(IllegalStateException.class, () -> TestBedExtension.findCheckout(dir.getParent()));
    }
}
