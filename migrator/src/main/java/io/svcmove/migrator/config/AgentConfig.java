package io.svcmove.migrator.config;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;

/**
 * A node's configuration, {@code /etc/svcmove/agent.toml}: who this node is, where its CLI socket
 * and state live, how it reaches and proves itself to its peers.
 */
@JsonIgnoreProperties(ignoreUnknown = false)
public record AgentConfig(
        String node,
        String listen,
        String socket,
        @JsonProperty("state_dir") String stateDir,
        @JsonProperty("log_dir") String logDir,
        @JsonProperty("interface") String iface,
        Tls tls,
        Dns dns,
        Move move,
        Hooks hooks,
        Metrics metrics,
        List<Peer> peers) {

    public static final Path DEFAULT_PATH = Path.of("/etc/svcmove/agent.toml");
    public static final String DEFAULT_SOCKET = "/run/svcmove/agent.sock";

    public record Tls(String ca, String cert, String key) {}

    /**
     * Service names in DNS (RFC 2136 updates signed with TSIG): the zone's primary, the zone, a BIND
     * key file (its key name and algorithm unless given), the records' TTL (60 s), how long to wait
     * for the server ("5s"), and whether a DNS failure fails a start (else it only warns).
     */
    public record Dns(String server, String zone, @JsonProperty("key_file") String keyFile,
            @JsonProperty("key_name") String keyName, String algorithm, Long ttl, String timeout, Boolean required) {}

    public record Peer(String name, String address) {}

    /** The names in [[peers]], in the file's order. */
    public List<String> peerNames() {
        return peers().stream().map(Peer::name).toList();
    }

    /** Whether {@code node} is one of [[peers]]. */
    public boolean isPeer(String node) {
        return peers().stream().anyMatch(p -> p.name().equals(node));
    }

    /** The host part of {@code node}'s address in [[peers]]: the one it connects from, to a move's page server too. */
    public InetAddress peerHost(String node) throws IOException {
        String address = peers().stream().filter(p -> p.name().equals(node)).findFirst()
                .orElseThrow(() -> new IOException(node + " is not in [[peers]]")).address();
        return InetAddress.getByName(address.substring(0, address.lastIndexOf(':')));
    }

    /**
     * How moves are made. The packet buffer keeps what clients send during the freeze (MiB; 0 turns
     * it off). The gratuitous ARP burst: one pair at once, then {@code arp_repeats} more, {@code
     * arp_interval_ms} apart (Pacemaker's IPaddr2 sends 5, 200 ms apart). A move is refused when
     * the two nodes' wall clocks differ by more than {@code max_clock_offset_ms} (50), unless forced.
     * {@code --mode auto} moves a service lazily (post-copy) when its memory exceeds {@code
     * lazy_above_mb} (256); a lazy move's pages must all arrive within {@code lazy_timeout_s} (120).
     * Each call to the other node of a move waits at most {@code call_timeout_s} (30) for its answer.
     * A move still under way after {@code timeout_s} is cancelled as `svcmove cancel` does (rolled
     * back, unless past its point of no return); 0, the default, sets no limit. An eager move
     * streams the memory from the source's dump into a page server on the destination ({@code
     * stream_pages}, true; on both nodes: either one's false sends it after the dump, over the peer
     * channel, as pre-copy's final dump always does).
     */
    public record Move(@JsonProperty("buffer_mb") Integer bufferMb, @JsonProperty("arp_repeats") Integer arpRepeats,
            @JsonProperty("arp_interval_ms") Integer arpIntervalMs, @JsonProperty("max_clock_offset_ms") Integer maxClockOffsetMs,
            @JsonProperty("lazy_above_mb") Integer lazyAboveMb, @JsonProperty("lazy_timeout_s") Integer lazyTimeoutS,
            @JsonProperty("call_timeout_s") Integer callTimeoutS, @JsonProperty("timeout_s") Integer timeoutS,
            @JsonProperty("stream_pages") Boolean streamPages) {
        public Move {
            streamPages = streamPages == null || streamPages;
            timeoutS = timeoutS == null ? 0 : timeoutS;
            callTimeoutS = callTimeoutS == null ? 30 : callTimeoutS;
            lazyAboveMb = lazyAboveMb == null ? 256 : lazyAboveMb;
            lazyTimeoutS = lazyTimeoutS == null ? 120 : lazyTimeoutS;
            maxClockOffsetMs = maxClockOffsetMs == null ? 50 : maxClockOffsetMs;
            bufferMb = bufferMb == null ? 16 : bufferMb;
            arpRepeats = arpRepeats == null ? 4 : arpRepeats;
            arpIntervalMs = arpIntervalMs == null ? 200 : arpIntervalMs;
        }
    }

    /**
     * The operator's executables run around each phase of a move on the source (like CRIU's action
     * scripts; a failing pre-prepare hook refuses the move), each for at most {@code timeout_s}.
     */
    public record Hooks(String dir, @JsonProperty("timeout_s") Integer timeoutS) {
        public Hooks {
            dir = dir == null ? "/etc/svcmove/hooks" : dir;
            timeoutS = timeoutS == null ? 10 : timeoutS;
        }
    }

    /**
     * Prometheus metrics over HTTP on {@code listen} (ADDRESS:PORT, path /metrics), plain HTTP and
     * unauthenticated, so bind it to an address only the monitoring reaches. Off when absent.
     */
    public record Metrics(String listen) {}

    public AgentConfig {
        iface = iface == null ? "eth0" : iface;
        socket = socket == null ? DEFAULT_SOCKET : socket;
        stateDir = stateDir == null ? "/var/lib/svcmove" : stateDir;
        logDir = logDir == null ? "/var/log/svcmove" : logDir;
        peers = peers == null ? List.of() : List.copyOf(peers);
        move = move == null ? new Move(null, null, null, null, null, null, null, null, null) : move;
        hooks = hooks == null ? new Hooks(null, null) : hooks;
    }

    /** This configuration with another {@code [[peers]]} and {@code [tls]}: what a reload changes in a running agent. */
    public AgentConfig withPeersAndTls(List<Peer> newPeers, Tls newTls) {
        return new AgentConfig(node, listen, socket, stateDir, logDir, iface, newTls, dns, move, hooks, metrics, newPeers);
    }

    /** The file named by --config, else $SVCMOVE_CONFIG, else the standard path. */
    public static Path locate(String fromOption) {
        if (fromOption != null) {
            return Path.of(fromOption);
        }
        String env = System.getenv("SVCMOVE_CONFIG");
        return env != null && !env.isBlank() ? Path.of(env) : DEFAULT_PATH;
    }

    public static AgentConfig load(Path file) throws ConfigException {
        String text = read(file);
        try {
            AgentConfig c = new TomlMapper()
                    .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                    .readValue(text, AgentConfig.class);
            if (c.node() == null || c.node().isBlank()) {
                throw new ConfigException(file + ": 'node' is missing: set it to this node's name, e.g. node = \"node1\"");
            }
            if (c.move().timeoutS() < 0) {
                throw new ConfigException(file + ": [move] timeout_s = " + c.move().timeoutS() + ": give the longest a move may"
                        + " take, in seconds, or 0 for no limit");
            }
            return c;
        } catch (JsonMappingException e) {
            throw new ConfigException(file + ": " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new ConfigException(file + " is not valid TOML: " + e.getMessage());
        }
    }

    /**
     * The CLI only needs the socket; a node without a configuration file uses the default one. Read
     * as a TOML tree, not bound to the records: binding loads half the classes a CLI call loads
     * (about 0.3 s of its start on a server, seconds on an emulated one). The agent validates the rest.
     */
    public static String socketFor(Path file) throws ConfigException {
        if (!Files.exists(file)) {
            return DEFAULT_SOCKET;
        }
        String text = read(file);
        try {
            JsonNode socket = new TomlMapper().readTree(text).path("socket");
            return socket.isTextual() ? socket.asText() : DEFAULT_SOCKET;
        } catch (IOException e) {
            throw new ConfigException(file + " is not valid TOML: " + e.getMessage());
        }
    }

    private static String read(Path file) throws ConfigException {
        try {
            return Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new ConfigException(file + " does not exist: write the node's configuration there"
                    + " (see migrator/agent.toml.example) or name another file with --config");
        } catch (IOException e) {
            throw new ConfigException("cannot read " + file + ": " + e.getMessage());
        }
    }

    public static final class ConfigException extends Exception {
        public ConfigException(String message) {
            super(message);
        }
    }
}
