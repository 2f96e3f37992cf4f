package io.svcmove.migrator.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.svcmove.migrator.config.AgentConfig;
import io.svcmove.migrator.control.ControlException;
import io.svcmove.migrator.control.ControlMessage;
import io.svcmove.migrator.control.Outcome;
import io.svcmove.migrator.move.Moves;
import io.svcmove.migrator.peer.Messages;
import io.svcmove.migrator.peer.PeerClient;
import io.svcmove.migrator.peer.RequestHandler;
import io.svcmove.migrator.service.Draining;
import io.svcmove.migrator.service.ServiceRecord;
import io.svcmove.migrator.service.ServiceRegistry;
import io.svcmove.vip.Cells;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * `svcmove drain NODE`: marks NODE draining (it then refuses every move onto it), and moves each of
 * its services to another node, a few at a time; `svcmove undrain NODE` lifts the mark. Runs on the
 * agent the CLI asked; NODE's agent keeps the mark and lists its services over the peer channel.
 */
final class Drains {
    private static final Logger log = LoggerFactory.getLogger(Drains.class);
    private static final Duration ASK = Duration.ofSeconds(5);

    private final Supplier<AgentConfig> inForce;
    private final ServiceRegistry registry;
    private final Cells cells;
    private final Draining draining;
    private final PeerClient peers;
    private final Nodes nodes;
    private final Moves moves;

    /** {@code config}: the configuration in force, whose [[peers]] a reload changes. */
    Drains(Supplier<AgentConfig> config, ServiceRegistry registry, Cells cells, PeerClient peers, Nodes nodes, Moves moves) {
        this.inForce = config;
        this.registry = registry;
        this.cells = cells;
        this.draining = new Draining(Path.of(config().stateDir()));
        this.peers = peers;
        this.nodes = nodes;
        this.moves = moves;
    }

    /** The configuration as last reloaded; an operation that goes over the peers takes it once. */
    private AgentConfig config() {
        return inForce.get();
    }

    /** The handlers of the peer requests a drain makes of the drained node. */
    Map<String, RequestHandler> handlers() {
        return Map.of(NodeMessages.Type.DRAIN, Messages.typed(NodeMessages.Drain.class, this::mark),
                NodeMessages.Type.SERVICES, Messages.typed((from, body) -> services()));
    }

    /** Peer request: set or clear this node's mark. */
    private NodeMessages.Marked mark(String from, NodeMessages.Drain drain) {
        boolean on = drain.draining();
        if (on != draining.on()) {
            draining.set(on);
            log.info("{} {} (asked by {})", config().node(), on ? "is draining: moves onto it are refused" : "takes moves again", from);
        }
        return new NodeMessages.Marked(config().node(), on);
    }

    /** Peer request: this node's services, with the memory each uses (for placement). */
    private NodeMessages.Services services() {
        List<NodeMessages.Services.Service> list = new ArrayList<>();
        for (ServiceRecord r : registry.all()) {
            long rss = cells.find(r.name()).map(c -> c.pids().stream().mapToLong(Drains::rssBytes).sum()).orElse(0L);
            list.add(new NodeMessages.Services.Service(r.name(), r.vip(), rss));
        }
        return new NodeMessages.Services(config().node(), list);
    }

    JsonNode undrain(JsonNode req) throws Exception {
        String node = req.path("node").asText();
        requireKnown(node);
        return Messages.tree(mark(node, false));
    }

    /** Sets or clears NODE's mark, by its agent or this one's own handler. */
    private NodeMessages.Marked mark(String node, boolean on) throws Exception {
        NodeMessages.Drain drain = new NodeMessages.Drain(on);
        return node.equals(config().node()) ? mark(node, drain) : ask(node, NodeMessages.Type.DRAIN, drain, NodeMessages.Marked.class);
    }

    JsonNode drain(JsonNode req, Consumer<JsonNode> sink) throws Exception {
        String node = req.path("node").asText();
        String to = req.path("to").asText(null);
        int parallel = Math.max(1, req.path("parallel").asInt(2));
        requireKnown(node);
        if (to != null) {
            requireKnown(to);
            if (to.equals(node)) {
                throw new ControlException(Outcome.USAGE, "--to " + to + " is the node being drained: name another node");
            }
        }
        Consumer<JsonNode> events = e -> {
            synchronized (sink) { // moves run in parallel; the CLI's stream takes one event at a time
                sink.accept(e);
            }
        };
        mark(node, true);
        List<NodeMessages.Services.Service> services = (node.equals(config().node()) ? services()
                : ask(node, NodeMessages.Type.SERVICES, Map.of(), NodeMessages.Services.class)).services();
        Map<String, String> plan = place(node, to, services);
        events.accept(ControlMessage.JSON.createObjectNode().put("draining", node).put("services", services.size()));

        ExecutorService pool = Executors.newFixedThreadPool(parallel, r -> {
            Thread t = new Thread(r, "drain-" + node);
            t.setDaemon(true);
            return t;
        });
        Map<String, Future<ObjectNode>> running = new LinkedHashMap<>();
        try {
            plan.forEach((name, dest) -> running.put(name, pool.submit(() -> moveOne(name, node, dest, events))));
            ObjectNode out = ControlMessage.JSON.createObjectNode().put("node", node).put("draining", true);
            ArrayNode rows = out.putArray("services");
            int failed = 0;
            for (Future<ObjectNode> f : running.values()) {
                ObjectNode row = f.get();
                failed += row.path("ok").asBoolean() ? 0 : 1;
                rows.add(row);
            }
            return out.put("moved", rows.size() - failed).put("failed", failed);
        } finally {
            pool.shutdownNow();
        }
    }

    private ObjectNode moveOne(String name, String from, String to, Consumer<JsonNode> events) {
        events.accept(ControlMessage.JSON.createObjectNode().put("service", name).put("to", to).put("state", "moving"));
        ObjectNode row = ControlMessage.JSON.createObjectNode().put("service", name).put("from", from).put("to", to);
        try {
            ObjectNode req = ControlMessage.JSON.createObjectNode().put("name", name).put("node", to);
            JsonNode r = Audit.request("move", req, new Caller.Drain(from), () -> moves.move(req, e -> {}));
            row.put("ok", true).put("outcome", "moved").put("freeze_ms", r.path("freeze_ms").asDouble())
                    .put("total_ms", r.path("total_ms").asDouble());
        } catch (ControlException e) {
            row.put("ok", false).put("outcome", e.outcome().name().toLowerCase()).put("message", e.getMessage());
        } catch (Exception e) {
            row.put("ok", false).put("outcome", "failed").put("message", String.valueOf(e.getMessage()));
        }
        events.accept(row.deepCopy().put("state", row.path("ok").asBoolean() ? "moved" : "failed"));
        return row;
    }

    /**
     * Each service (largest first) goes to the node with the most free memory left after what was
     * already placed on it, discounted by its load per CPU: a node twice as loaded needs twice the
     * memory to win. With --to, everything goes there.
     */
    private Map<String, String> place(String node, String to, List<NodeMessages.Services.Service> services) throws IOException {
        Map<String, Double> room = new LinkedHashMap<>();
        Map<String, Double> load = new LinkedHashMap<>();
        List<String> skipped = new ArrayList<>();
        for (JsonNode each : nodes.all().path("nodes")) {
            // An unreachable node is listed with its name and why only: it reads as not reachable.
            NodeMessages.Info n = Messages.read(each, NodeMessages.Info.class);
            String name = n.node();
            if (name.equals(node) || to != null && !name.equals(to)) {
                continue;
            }
            if (!n.reachable() || n.draining()) {
                skipped.add(name + (n.draining() ? " (draining)" : " (unreachable)"));
                continue;
            }
            room.put(name, (double) n.memAvailableBytes());
            load.put(name, n.load1() / Math.max(1, n.cpus()));
        }
        if (room.isEmpty() && !services.isEmpty()) {
            throw new ControlException(Outcome.REFUSED, "no node can take " + node + "'s services: "
                    + (skipped.isEmpty() ? "it has no peers" : String.join(", ", skipped))
                    + "; " + node + " stays draining with its services ('svcmove undrain " + node + "' ends that)");
        }
        Map<String, String> plan = new LinkedHashMap<>();
        services.stream().sorted(Comparator.comparingLong(NodeMessages.Services.Service::rssBytes).reversed()).forEach(s -> {
            String best = room.keySet().stream()
                    .max(Comparator.comparingDouble((String n) -> room.get(n) / (1 + load.get(n)))).orElseThrow();
            plan.put(s.name(), best);
            room.merge(best, (double) -s.rssBytes(), Double::sum);
        });
        return plan;
    }

    private void requireKnown(String node) {
        AgentConfig config = config();
        if (!node.equals(config.node()) && !config.isPeer(node)) {
            throw new ControlException(Outcome.NOT_FOUND, "unknown node " + node + ": " + config.node() + " knows itself and "
                    + String.join(", ", config.peerNames()) + " (its agent.toml)");
        }
    }

    /** A request to NODE's agent. */
    private <T> T ask(String node, String type, Object body, Class<T> reply) throws Exception {
        try {
            return Messages.await(Messages.call(peers, node, type, body, reply, ASK));
        } catch (Exception e) {
            throw new ControlException(Outcome.UNAVAILABLE, "the agent of " + node + " does not answer (" + e.getMessage()
                    + "): nothing was moved");
        }
    }

    /** Resident memory of a process, from /proc/PID/status (0 when it is gone). */
    private static long rssBytes(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            // gone meanwhile: it uses nothing
        }
        return 0;
    }
}
