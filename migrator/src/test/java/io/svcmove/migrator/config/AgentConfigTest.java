package io.svcmove.migrator.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AgentConfigTest {
    @Test
    void theExampleLoadsWithItsMetricsListen() throws Exception {
        AgentConfig c = AgentConfig.load(Path.of("agent.toml.example"));
        assertEquals("127.0.0.1:9473", c.metrics().listen());
        assertEquals("node2", c.peers().get(0).name());
    }

    @Test
    void metricsAreOffWhenTheSectionIsAbsent(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("agent.toml");
        Files.writeString(f, "node = \"node1\"\n");
        assertNull(AgentConfig.load(f).metrics());
    }
}
