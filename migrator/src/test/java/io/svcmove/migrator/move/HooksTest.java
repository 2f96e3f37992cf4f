package io.svcmove.migrator.move;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.svcmove.migrator.control.ControlException;
import io.svcmove.migrator.control.Outcome;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HooksTest {
    private static final Hooks.Move MOVE = new Hooks.Move("web", "198.18.0.100/24", "node1", "node2");

    @TempDir
    Path dir;

    private Path hook(String name, String body) throws IOException {
        Path f = dir.resolve(name);
        Files.writeString(f, "#!/bin/sh\n" + body + "\n");
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rwxr-xr-x"));
        return f;
    }

    @Test
    void everyPhaseRunsTheHooksInNameOrderWithTheMoveInTheEnvironment() throws Exception {
        Path log = dir.resolve("calls.log");
        hook("20-second", "echo \"2 $SVCMOVE_HOOK\" >> " + log);
        hook("10-first", "echo \"1 $SVCMOVE_HOOK $SVCMOVE_SERVICE $SVCMOVE_VIP $SVCMOVE_SOURCE $SVCMOVE_DESTINATION\" >> " + log);
        Files.writeString(dir.resolve("README"), "not executable: not a hook");
        Hooks.Run run = new Hooks(dir, Duration.ofSeconds(5)).forMove(MOVE);
        run.prePrepare();
        List<String> seen = new ArrayList<>();
        MoveListener l = run.around(new MoveListener() {
            @Override
            public void phaseStarted(Phase phase) {
                seen.add("started " + phase.label());
            }
        });
        l.phaseStarted(Phase.PREPARE);
        l.phaseDone(Phase.PREPARE, 1);
        l.phaseStarted(Phase.FREEZE);
        l.rollingBack(Phase.FREEZE);
        assertEquals(List.of("1 pre-prepare web 198.18.0.100/24 node1 node2", "2 pre-prepare",
                "1 post-prepare web 198.18.0.100/24 node1 node2", "2 post-prepare",
                "1 pre-freeze web 198.18.0.100/24 node1 node2", "2 pre-freeze",
                "1 rollback web 198.18.0.100/24 node1 node2", "2 rollback"), Files.readAllLines(log));
        assertEquals(List.of("started prepare", "started freeze"), seen, "the inner listener still sees the phases");
    }

    @Test
    void aFailingPrePrepareHookRefusesTheMoveNamingIt() throws Exception {
        hook("10-gate", "[ \"$SVCMOVE_HOOK\" = pre-prepare ] && { echo 'maintenance window closed'; exit 3; }; exit 0");
        ControlException e = assertThrows(ControlException.class, () -> new Hooks(dir, Duration.ofSeconds(5)).forMove(MOVE).prePrepare());
        assertEquals(Outcome.REFUSED, e.outcome());
        assertTrue(e.getMessage().contains("10-gate (exit 3: maintenance window closed)"), e.getMessage());
        assertTrue(e.getMessage().contains("web still runs on node1"), e.getMessage());
    }

    @Test
    void aHookThatHangsIsKilledAtItsTimeout() throws Exception {
        hook("10-slow", "sleep 30");
        long start = System.nanoTime();
        ControlException e = assertThrows(ControlException.class, () -> new Hooks(dir, Duration.ofSeconds(1)).forMove(MOVE).prePrepare());
        assertTrue(e.getMessage().contains("still running after 1 s, killed"), e.getMessage());
        assertTrue(System.nanoTime() - start < 10_000_000_000L, "bounded by the timeout");
    }

    @Test
    void noHooksDirectoryCostsNothing() {
        MoveListener inner = new MoveListener() {};
        Hooks.Run run = new Hooks(dir.resolve("absent"), Duration.ofSeconds(1)).forMove(MOVE);
        run.prePrepare();
        assertSame(inner, run.around(inner));
    }
}
