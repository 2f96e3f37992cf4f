package io.svcmove.migrator.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CallerTest {
    @Test
    void readsThisJvmsOwnProcEntry() throws IOException {
        long pid = ProcessHandle.current().pid();
        Caller.Local me = Caller.Local.of(pid, 0);
        assertEquals(pid, me.pid());
        String login = Files.readString(Path.of("/proc/self/loginuid")).trim();
        assertEquals(login.equals("4294967295") ? "unset" : login, me.loginUid());
        assertFalse(me.cmdline().contains("\0"), me.cmdline());
        // The JVM's first argument (after the java binary) is in the line, as `ps` would show it.
        String first = ProcessHandle.current().info().arguments().map(a -> a[0]).orElseThrow();
        assertTrue(me.cmdline().contains(" " + first), me.cmdline() + " holds " + first);
        assertTrue(me.cmdline().length() <= Caller.Local.MAX_CMDLINE + 3, me.cmdline());
    }

    @Test
    void aProcessGoneBeforeItWasReadIsNamedButUnknown(@TempDir Path proc) {
        Caller.Local gone = Caller.Local.of(proc, 4242, 0);
        assertEquals(new Caller.Local(4242, 0, "?", "?"), gone);
    }

    @Test
    void theLoginUidOfNobodyIsUnsetAndAPersonsIsKept(@TempDir Path proc) throws IOException {
        Files.createDirectories(proc.resolve("7"));
        Files.writeString(proc.resolve("7/loginuid"), "4294967295");
        Files.write(proc.resolve("7/cmdline"), "svcmove\0move\0web\0node2\0".getBytes());
        assertEquals(new Caller.Local(7, 0, "unset", "svcmove move web node2"), Caller.Local.of(proc, 7, 0));
        Files.writeString(proc.resolve("7/loginuid"), "1000");
        assertEquals("1000", Caller.Local.of(proc, 7, 0).loginUid());
    }

    @Test
    void aLongCommandLineIsCut() {
        String raw = "python3\0-c\0" + "x".repeat(2000) + "\0";
        String line = Caller.Local.cmdline(raw);
        assertEquals(Caller.Local.MAX_CMDLINE + 3, line.length());
        assertTrue(line.startsWith("python3 -c xxx") && line.endsWith("..."), line);
    }

    @Test
    void fieldsNameTheCallerInOrder() {
        assertEquals(List.of("caller", "pid", "uid", "loginuid", "cmdline"),
                List.copyOf(new Caller.Local(1, 0, "unset", "x").fields().keySet()));
        assertEquals("AUDIT caller=peer peer=node1", AuditLine.format(new Caller.Peer("node1").fields()));
        assertEquals("AUDIT caller=drain drained=node1", AuditLine.format(new Caller.Drain("node1").fields()));
    }
}
