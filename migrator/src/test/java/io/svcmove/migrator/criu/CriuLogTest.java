package io.svcmove.migrator.criu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CriuLogTest {
    @Test
    void errorLinesComeFirstThenTheLastLines() {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            lines.add("(00.0" + i + ") line " + i);
        }
        lines.set(5, "(00.005) Error (criu/sk-inet.c:123): Can't dump socket 7");
        lines.add("(00.100) Error (criu/cr-dump.c:2100): Dumping FAILED.");
        String q = CriuLog.quote(lines, Path.of("/dev/shm/x/dump.log"));

        assertTrue(q.startsWith("CRIU log /dev/shm/x/dump.log:\n  errors:\n"), q);
        int firstError = q.indexOf("Can't dump socket 7");
        int lastLines = q.indexOf("last lines:");
        assertTrue(firstError > 0 && firstError < lastLines, "the early error is quoted before the tail: " + q);
        String tail = q.substring(lastLines);
        assertEquals(CriuLog.TAIL_LINES, tail.lines().count() - 1, tail);
        assertTrue(tail.contains("line 39") && tail.contains("Dumping FAILED"));
        assertFalse(tail.contains("line 20"), "only the last lines: " + tail);
    }

    @Test
    void knownCausesGetAHint() {
        String q = CriuLog.quote(List.of("(00.1) Error (criu/pstree.c:1): A session leader of 12(12) is outside its pid namespace"),
                Path.of("d.log"));
        assertTrue(q.contains("hint: start the service with setsid inside its PID namespace"), q);
    }

    @Test
    void readsOnlyTheEndOfAHugeLog(@TempDir Path dir) throws Exception {
        Path log = dir.resolve("dump.log");
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 60_000; i++) {
            sb.append("(01.").append(i).append(") some detail of the dump ").append(i).append('\n');
        }
        sb.append("(02.000) Error (criu/mem.c:9): last words\n");
        Files.writeString(log, sb);
        List<String> tail = CriuLog.readTail(log);
        assertTrue(tail.size() < 60_000, "bounded read");
        assertTrue(tail.get(0).startsWith("(01."), "a partial first line is dropped: " + tail.get(0));
        assertTrue(CriuLog.quote(log).contains("errors:\n    (02.000) Error (criu/mem.c:9): last words"));
    }

    @Test
    void missingLogIsSaidPlainly(@TempDir Path dir) {
        assertTrue(CriuLog.quote(dir.resolve("none.log")).startsWith("(no CRIU log at "));
    }
}
