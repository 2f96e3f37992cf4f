package io.svcmove.migrator.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

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
}
