package io.svcmove.migrator.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AgentConfigTest {
    private static final Path EXAMPLE = Path.of("agent.toml.example");

    @Test
    void theExampleLeavesMetricsOff() throws Exception {
        AgentConfig c = AgentConfig.load(EXAMPLE);
        assertNull(c.metrics());
        assertEquals("node2", c.peers().get(0).name());
    }

    @Test
    void theExamplesMetricsLinesUncommentedTurnThemOn(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("agent.toml");
        Files.writeString(f, Files.readString(EXAMPLE).replaceAll("(?m)^# (\\[metrics\\]|listen = )", "$1"));
        assertEquals("127.0.0.1:9473", AgentConfig.load(f).metrics().listen());
    }

    @Test
    void aMoveHasNoTimeLimitUnlessOneIsSetAndANegativeOneIsRefused(@TempDir Path dir) throws Exception {
        assertEquals(0, AgentConfig.load(EXAMPLE).move().timeoutS());
        Path f = dir.resolve("agent.toml");
        Files.writeString(f, Files.readString(EXAMPLE).replace("timeout_s = 0 ", "timeout_s = 600 "));
        assertEquals(600, AgentConfig.load(f).move().timeoutS());
        Files.writeString(f, Files.readString(EXAMPLE).replace("timeout_s = 0 ", "timeout_s = -5 "));
        AgentConfig.ConfigException e = assertThrows(AgentConfig.ConfigException.class, () -> AgentConfig.load(f));
        assertTrue(e.getMessage().contains("[move] timeout_s = -5") && e.getMessage().contains("0 for no limit"), e.getMessage());
    }

    @Test
    void theCliFindsTheSocketWithoutTheRestAndNamesBadToml(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("agent.toml");
        assertEquals(AgentConfig.DEFAULT_SOCKET, AgentConfig.socketFor(f), "no file: the default socket");
        Files.writeString(f, "node = \"n1\"\nsocket = \"/run/x.sock\"\nsome_future_key = 1\n");
        assertEquals("/run/x.sock", AgentConfig.socketFor(f));
        Files.writeString(f, "node = \"n1\"\nsocket = [\n");
        AgentConfig.ConfigException e = assertThrows(AgentConfig.ConfigException.class, () -> AgentConfig.socketFor(f));
        assertTrue(e.getMessage().contains("not valid TOML"), e.getMessage());
    }
}
