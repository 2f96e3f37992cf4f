package io.svcmove.migrator.config;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * agent.toml, whatever the file holds: load gives a complete configuration (a node, defaults
 * filled, peers with a name and an address) or a ConfigException whose message names the file.
 */
class AgentConfigFuzzTest {
    private static final Path FILE;

    static {
        try {
            FILE = Files.createTempDirectory("svcmove-fuzz-").resolve("agent.toml");
            FILE.getParent().toFile().deleteOnExit();
            FILE.toFile().deleteOnExit();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @FuzzTest(maxDuration = "10s")
    void load(byte[] toml) throws IOException {
        Files.write(FILE, toml);
        AgentConfig c;
        try {
            c = AgentConfig.load(FILE);
        } catch (AgentConfig.ConfigException e) {
            assertTrue(e.getMessage() != null && e.getMessage().contains(FILE.toString()), "names no file: " + e.getMessage());
            return;
        }
        assertTrue(c.node() != null && !c.node().isBlank());
        assertNotNull(c.socket());
        assertNotNull(c.stateDir());
        assertNotNull(c.logDir());
        assertNotNull(c.iface());
        assertNotNull(c.move());
        assertNotNull(c.hooks());
        assertNotNull(c.peers());
        for (AgentConfig.Peer p : c.peers()) {
            assertNotNull(p, "a null peer");
            assertFalse(p.name() == null || p.name().isBlank(), "a peer without a name: " + p);
            assertFalse(p.address() == null || p.address().isBlank(), "a peer without an address: " + p);
        }
    }
}
