package io.svcmove.migrator.move;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.svcmove.arp.ArpAnnouncer;
import io.svcmove.migrator.clock.PeerClocks;
import io.svcmove.migrator.config.AgentConfig;
import io.svcmove.migrator.control.ControlException;
import io.svcmove.migrator.control.ControlMessage;
import io.svcmove.migrator.control.Outcome;
import io.svcmove.migrator.criu.Criu;
import io.svcmove.migrator.peer.PeerClient;
import io.svcmove.migrator.service.ServiceRecord;
import io.svcmove.migrator.service.ServiceRegistry;
import io.svcmove.vip.Cell;
import io.svcmove.vip.Cells;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * `svcmove NAME NODE` as the agent sees it: finds the node that runs NAME (this one, or a peer it
 * forwards the move to), runs the move there and says how it ended, in the CLI's outcomes.
 */
public final class Moves {
    private static final Logger log = LoggerFactory.getLogger(Moves.class);
    private static final Duration ASK = Duration.ofSeconds(5);
    /** A forwarded move waits for the whole move on the owner. */
    private static final Duration FORWARDED = Duration.ofMinutes(10);

    private final AgentConfig config;
    private final Cells cells;
    private final ServiceRegistry registry;
    private final Criu criu;
    private final String criuVersion;
    private final PeerClient peers;
    private final ArpAnnouncer announcer;
    private final Hooks hooks;
    private final PeerClocks clocks;
    /** One move at a time per node: moves are short, and CRIU and the cells are shared. */
    private final Object moving = new Object();

    public Moves(AgentConfig config, Cells cells, ServiceRegistry registry, Criu criu, String criuVersion, PeerClient peers,
            ArpAnnouncer announcer, PeerClocks clocks) {
        this.config = config;
        this.cells = cells;
        this.registry = registry;
        this.criu = criu;
        this.criuVersion = criuVersion;
        this.peers = peers;
        this.announcer = announcer;
        this.hooks = new Hooks(Path.of(config.hooks().dir()), Duration.ofSeconds(config.hooks().timeoutS()));
        this.clocks = clocks;
    }

    /** Held by a move from its checks to its end: a checkpoint or a recovery takes it too, so no two dump or restore at once. */
    public Object lock() {
        return moving;
    }

    /** The CLI's request: move here, or forward to the node that runs the service. */
    public JsonNode move(JsonNode req, Consumer<JsonNode> events) throws Exception {
        String name = req.path("name").asText();
        String to = req.path("node").asText();
        if (registry.find(name).isPresent()) {
            return moveFromHere(name, to, req.path("buffer").asBoolean(true), req.path("force").asBoolean(),
                    req.path("mode").asText("auto"), events);
        }
        String owner = whereIs(name);
        events.accept(ControlMessage.JSON.createObjectNode().put("forwarded_to", owner));
        JsonNode r = Peers.await(peers.call(owner, "move.run", req, FORWARDED));
        if (!r.path("ok").asBoolean()) {
            throw new ControlException(Outcome.valueOf(r.path("outcome").asText("FAILED")), r.path("message").asText());
        }
        return r.path("report");
    }

    /** A move forwarded by a peer's agent: answers with the report or the failure, never throws. */
    public JsonNode forwarded(String from, JsonNode req) {
        ObjectNode r = ControlMessage.JSON.createObjectNode();
        try {
            r.set("report", moveFromHere(req.path("name").asText(), req.path("node").asText(), req.path("buffer").asBoolean(true),
                    req.path("force").asBoolean(), req.path("mode").asText("auto"), e -> {}));
            return r.put("ok", true);
        } catch (ControlException e) {
            return r.put("ok", false).put("outcome", e.outcome().name()).put("message", e.getMessage());
        }
    }

    /** Where a service runs, for peers looking for it. */
    public JsonNode where(String from, JsonNode req) {
        return ControlMessage.JSON.createObjectNode().put("node", config.node())
                .put("runs_here", registry.find(req.path("name").asText()).isPresent());
    }

    private String whereIs(String name) {
        for (AgentConfig.Peer p : config.peers()) {
            try {
                if (Peers.await(peers.call(p.name(), "service.where", Map.of("name", name), ASK)).path("runs_here").asBoolean()) {
                    return p.name();
                }
            } catch (Exception e) {
                log.info("asking {} for {}: {}", p.name(), name, e.getMessage());
            }
        }
        throw new ControlException(Outcome.NOT_FOUND, "no service named " + name + " on " + config.node()
                + " or on any reachable peer ('svcmove status' on each node lists them)");
    }

    private JsonNode moveFromHere(String name, String to, boolean buffer, boolean force, String mode, Consumer<JsonNode> events) {
        if (!List.of("eager", "lazy", "auto").contains(mode)) {
            throw new ControlException(Outcome.USAGE, "--mode is eager, lazy or auto, not '" + mode + "'");
        }
        if (to.equals(config.node())) {
            throw new ControlException(Outcome.REFUSED, name + " already runs on " + to);
        }
        if (config.peers().stream().noneMatch(p -> p.name().equals(to))) {
            throw new ControlException(Outcome.NOT_FOUND, "unknown node " + to + ": " + config.node() + " knows "
                    + String.join(", ", config.peers().stream().map(AgentConfig.Peer::name).toList())
                    + " (the [[peers]] of its agent.toml)");
        }
        if (criu == null) {
            throw new ControlException(Outcome.REFUSED, "CRIU is missing or does not work on " + config.node()
                    + ", so nothing can move from here: run 'make setup' on " + config.node());
        }
        clocks.checkWallOffset(config.node(), to, config.move().maxClockOffsetMs(), force);
        synchronized (moving) {
            ServiceRecord svc = registry.find(name).orElseThrow(() -> new ControlException(Outcome.NOT_FOUND,
                    "no service named " + name + " on " + config.node()));
            if (svc.move() != null) {
                throw new ControlException(Outcome.REFUSED, "the move " + svc.move().id() + " of " + name + " to " + svc.move().to()
                        + " is still being finished (this agent restarted during it): see 'svcmove status', then try again");
            }
            Cell cell = cells.find(name).filter(c -> c.pids().contains(svc.pid())).orElseThrow(() -> new ControlException(
                    Outcome.REFUSED, name + " is not running on " + config.node() + " ('svcmove status'): only a running service moves"));
            ForeignUids.check(name, config.node(), cell.pids());
            Hooks.Run hooksRun = hooks.forMove(new Hooks.Move(name, svc.vip(), config.node(), to));
            hooksRun.prePrepare();
            MoveListener progress = hooksRun.around(new ProgressEvents(events));
            log.info("moving {} from {} to {}", name, config.node(), to);
            try {
                OutgoingMove.Options options = new OutgoingMove.Options(buffer ? config.move().bufferMb() * (1L << 20) : 0,
                        config.move().arpRepeats(), Duration.ofMillis(config.move().arpIntervalMs()), lazy(mode, cell, to, events));
                OutgoingMove.Report r = new OutgoingMove(cells, registry, criu, peers, announcer, Path.of(config.logDir()), progress)
                        .run(svc, cell, to, criuVersion, options);
                log.info("moved {} to {}: buffered {} packets ({} bytes, {} dropped), injected {}", name, to, r.buffer().buffered(),
                        r.buffer().bytes(), r.buffer().dropped(), r.buffer().injected());
                log.info("moved {} to {}: frozen {} ms, phases {}", name, to, r.freezeMicros() / 1000, r.result().micros());
                if (r.pagesFailure() != null) {
                    String message = "move of " + name + " to " + to + " FAILED after the service started there: not every page "
                            + "arrived from " + config.node() + " (" + r.pagesFailure().lines().findFirst().orElse("") + "). " + name
                            + " has been killed on " + to + " and is marked failed there; a lazy move cannot be rolled back. "
                            + "Start it again with 'svcmove run'";
                    log.error(message);
                    throw new ControlException(Outcome.FAILED, message);
                }
                r.result().cleanupFailures().forEach(e -> log.warn("move of {} done, but cleanup failed: {}", name, e.getMessage()));
                return report(r);
            } catch (MoveFailedException e) {
                Outcome outcome = e.phase() == Phase.PREPARE ? Outcome.REFUSED : Outcome.ROLLED_BACK;
                String what = outcome == Outcome.REFUSED ? "refused" : "rolled back";
                String message = "move of " + name + " to " + to + " " + what + " (" + e.phase().label() + ": " + e.step() + "): "
                        + e.getMessage() + "; " + name + " still runs on " + config.node();
                if (e.rollbackIncomplete()) {
                    message += ". The rollback itself met errors (" + e.getSuppressed()[0].getMessage() + "): check 'svcmove status'";
                }
                log.warn(message, e);
                throw new ControlException(outcome, message);
            }
        }
    }

    /**
     * The lazy part of a move, or null for an eager one: {@code auto} is lazy above {@code [move]
     * lazy_above_mb} of memory; a lazy move that either node cannot make falls back to eager, with a
     * warning naming what is missing.
     */
    private OutgoingMove.Lazy lazy(String mode, Cell cell, String to, Consumer<JsonNode> events) {
        if (mode.equals("eager")) {
            return null;
        }
        if (mode.equals("auto")) {
            long rss = LazySupport.residentBytes(cell.pids());
            if (rss <= config.move().lazyAboveMb() * (1L << 20)) {
                return null;
            }
        }
        List<String> missing = new ArrayList<>(LazySupport.missing(criu, config.node()));
        try {
            JsonNode there = Peers.await(peers.call(to, "move.lazy_check", Map.of(), ASK));
            there.path("missing").forEach(m -> missing.add(m.asText()));
        } catch (Exception e) {
            missing.add(to + " could not say whether it can take a lazy move (" + e.getMessage() + ")");
        }
        String address = config.listen().substring(0, config.listen().lastIndexOf(':'));
        if (missing.isEmpty()) {
            try {
                return new OutgoingMove.Lazy(address, LazySupport.freePort(address), IncomingMoves.pageServerTls(config),
                        Duration.ofSeconds(config.move().lazyTimeoutS()));
            } catch (IOException e) {
                missing.add("no free TCP port for the page server on " + address + " (" + e.getMessage() + ")");
            }
        }
        String warning = "lazy move not possible, moving eagerly instead: " + String.join("; ", missing);
        log.warn(warning);
        events.accept(ControlMessage.JSON.createObjectNode().put("warning", warning));
        return null;
    }

    /** A destination's answer to "can you take a lazy move?". */
    public JsonNode lazyCheck(String from, JsonNode req) {
        ObjectNode r = ControlMessage.JSON.createObjectNode();
        ArrayNode missing = r.putArray("missing");
        LazySupport.missing(criu, config.node()).forEach(missing::add);
        return r;
    }

    private static JsonNode report(OutgoingMove.Report r) {
        ObjectNode n = ControlMessage.JSON.createObjectNode().put("service", r.service()).put("from", r.from()).put("to", r.to())
                .put("pid", r.pid()).put("freeze_ms", r.freezeMicros() / 1000.0).put("image_bytes", r.transferBytes())
                .put("mode", r.lazy() ? "lazy" : "eager");
        if (r.lazy()) {
            n.put("last_page_ms", r.lastPageMicros() / 1000.0)
                    .put("depends_on_source_ms", (r.lastPageMicros() - r.freezeMicros()) / 1000.0);
        }
        ObjectNode phases = n.putObject("phases_ms");
        long total = 0;
        for (Map.Entry<Phase, Long> e : r.result().micros().entrySet()) {
            phases.put(e.getKey().label(), e.getValue() / 1000.0);
            total += e.getValue();
        }
        n.put("total_ms", total / 1000.0);
        ObjectNode steps = n.putObject("steps_ms");
        r.result().stepMicros().forEach((step, micros) -> steps.put(step, micros / 1000.0));
        n.put("cleanup_failures", r.result().cleanupFailures().size());
        n.putObject("buffer").put("packets", r.buffer().buffered()).put("bytes", r.buffer().bytes())
                .put("dropped", r.buffer().dropped()).put("injected", r.buffer().injected());
        return n;
    }

    /** The move's listener: phases and transfer progress as events for the CLI. */
    private static final class ProgressEvents implements MoveListener {
        private final Consumer<JsonNode> events;
        private long lastProgress;
        private boolean complete;

        ProgressEvents(Consumer<JsonNode> events) {
            this.events = events;
        }

        @Override
        public void phaseStarted(Phase phase) {
            events.accept(ControlMessage.JSON.createObjectNode().put("phase", phase.label()).put("state", "started"));
        }

        @Override
        public void phaseDone(Phase phase, long micros) {
            events.accept(ControlMessage.JSON.createObjectNode().put("phase", phase.label()).put("state", "done").put("ms", micros / 1000.0));
        }

        @Override
        public void stepFailed(Step step, Exception cause) {
            events.accept(ControlMessage.JSON.createObjectNode().put("phase", step.phase().label()).put("state", "failed")
                    .put("step", step.name()).put("message", String.valueOf(cause.getMessage())));
        }

        @Override
        public void rollingBack(Phase failedIn) {
            events.accept(ControlMessage.JSON.createObjectNode().put("rollback", "started"));
        }

        @Override
        public void undone(Step step, long micros) {
            events.accept(ControlMessage.JSON.createObjectNode().put("undone", step.name()).put("ms", micros / 1000.0));
        }

        @Override
        public void transferred(long sent, long total) {
            long now = System.nanoTime();
            if (sent == total ? !complete : now - lastProgress > 100_000_000L) {
                complete = sent == total;
                lastProgress = now;
                events.accept(ControlMessage.JSON.createObjectNode().put("phase", Phase.TRANSFER.label()).put("sent", sent).put("total", total));
            }
        }
    }
}
