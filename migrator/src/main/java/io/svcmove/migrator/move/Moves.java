package io.svcmove.migrator.move;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.svcmove.arp.ArpAnnouncer;
import io.svcmove.migrator.clock.PeerClocks;
import io.svcmove.migrator.config.AgentConfig;
import io.svcmove.migrator.control.ControlException;
import io.svcmove.migrator.control.ControlMessage;
import io.svcmove.migrator.control.Forwarded;
import io.svcmove.migrator.control.Outcome;
import io.svcmove.migrator.criu.Criu;
import io.svcmove.migrator.peer.Messages;
import io.svcmove.migrator.peer.PeerClient;
import io.svcmove.migrator.peer.RequestHandler;
import io.svcmove.migrator.pki.ClusterPki;
import io.svcmove.migrator.service.ProcessIdentity;
import io.svcmove.migrator.service.ServiceRecord;
import io.svcmove.migrator.service.ServiceRegistry;
import io.svcmove.vip.Cell;
import io.svcmove.vip.Cells;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * `svcmove NAME NODE` as the agent sees it: finds the node that runs NAME (this one, or a peer it
 * forwards the move to), runs the move there and says how it ended, in the CLI's outcomes.
 */
public final class Moves {
    private static final Logger log = LoggerFactory.getLogger(Moves.class);
    private static final Duration ASK = Duration.ofSeconds(5);
    /** The peer request `svcmove moves` asks each node: {@link #inFlight}. */
    public static final String IN_FLIGHT = MoveMessages.Type.IN_FLIGHT;
    /** A forwarded move waits for the whole move on the owner. */
    private static final Duration FORWARDED = Duration.ofMinutes(10);
    /** A forwarded check waits for the owner's, which asks NODE a few questions (each up to {@link #ASK}). */
    private static final Duration FORWARDED_CHECK = Duration.ofSeconds(30);

    private final Supplier<AgentConfig> inForce;
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
    private final FaultInjection faults;
    private final UnfinishedMoves unfinished;
    private final MoveMetrics metrics;
    private final MovesInFlight inFlight = new MovesInFlight(Clock.systemUTC());
    /** Cancels moves that outlast [move] timeout_s. */
    private final ScheduledExecutorService timeouts = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "move-timeouts");
        t.setDaemon(true);
        return t;
    });

    /** {@code config}: the configuration in force, whose [[peers]] and [tls] a reload changes. */
    public Moves(Supplier<AgentConfig> config, Cells cells, ServiceRegistry registry, Criu criu, String criuVersion, PeerClient peers,
            ArpAnnouncer announcer, PeerClocks clocks, FaultInjection faults, MoveMetrics metrics) {
        this.faults = faults;
        this.metrics = metrics;
        this.unfinished = new UnfinishedMoves(registry, () -> outgoing(new LoggedMove(), null, false, false), moving);
        this.inForce = config;
        this.cells = cells;
        this.registry = registry;
        this.criu = criu;
        this.criuVersion = criuVersion;
        this.peers = peers;
        this.announcer = announcer;
        this.hooks = new Hooks(Path.of(config().hooks().dir()), Duration.ofSeconds(config().hooks().timeoutS()));
        this.clocks = clocks;
    }

    /** The configuration as last reloaded; an operation that goes over the peers takes it once. */
    private AgentConfig config() {
        return inForce.get();
    }

    /** Moves that did not end: at start, and those whose outcome a move could not know. */
    public UnfinishedMoves unfinished() {
        return unfinished;
    }

    /** A move from here; {@code buffer} false: no packet buffer (--no-buffer; a recovery has none left to drain). */
    private OutgoingMove outgoing(MoveListener listener, OutgoingMove.Lazy lazy, boolean precopy, boolean buffer) {
        AgentConfig config = config();
        return new OutgoingMove(OutgoingMove.Effects.on(cells, criu, peers, announcer), registry, Path.of(config.logDir()), listener, faults,
                new OutgoingMove.Options(buffer ? config.move().bufferMb() * (1L << 20) : 0, config.move().arpRepeats(),
                        Duration.ofMillis(config.move().arpIntervalMs()), lazy, precopy, Duration.ofSeconds(config.move().callTimeoutS()),
                        Duration.ofSeconds(config.move().lazyTimeoutS()), streamTls()));
    }

    /** This node's certificates for streaming an eager move's memory ([move] stream_pages), or null: it is then sent after the dump. */
    private OutgoingMove.Stream streamTls() {
        AgentConfig config = config();
        if (!config.move().streamPages()) {
            return null;
        }
        try {
            return new OutgoingMove.Stream(IncomingMoves.pageServerTls(config), Files.readString(Path.of(config.tls().cert())));
        } catch (IOException e) {
            log.warn("an eager move sends the memory after the dump, not during it: this node's key cannot be given to CRIU ({})",
                    e.getMessage());
            return null;
        }
    }

    /** `svcmove moves`, this node's part (to the CLI and to peers): the moves from here under way. */
    public JsonNode inFlight() {
        Map<String, ServiceRecord.MoveInFlight> recorded = new LinkedHashMap<>();
        registry.all().stream().filter(r -> r.move() != null).forEach(r -> recorded.put(r.name(), r.move()));
        return Messages.tree(new MoveMessages.InFlight(config().node(), true, inFlight.list(recorded, config().node())));
    }

    /**
     * `svcmove cancel NAME`: the move of NAME, here or on the peer that runs it, rolls back at its next
     * boundary (its own CLI then exits 4), unless it may already be past the point of no return.
     */
    public JsonNode cancel(JsonNode req) {
        String name = req.path("name").asText();
        MoveMessages.Cancel ask = new MoveMessages.Cancel(name, (req.path("interrupted").asBoolean()
                ? "Ctrl-C on 'svcmove move'" : "'svcmove cancel'") + " on " + config().node());
        Forwarded r = cancelHere(config().node(), ask);
        List<String> silent = new ArrayList<>();
        List<String> peerList = config().peerNames();
        for (int i = 0; i < peerList.size() && r.outcome() == Outcome.NOT_FOUND; i++) {
            String peer = peerList.get(i);
            try {
                r = Peers.call(peers, peer, MoveMessages.Type.CANCEL, ask, Forwarded.class, ASK);
            } catch (Exception e) {
                silent.add(peer + " (" + e.getMessage() + ")");
            }
        }
        if (r.ok()) {
            return r.report();
        }
        throw new ControlException(r.outcome(), r.outcome() != Outcome.NOT_FOUND || silent.isEmpty() ? r.message()
                : r.message() + "; these did not answer, a move there is unknown: " + String.join(", ", silent));
    }

    /** A cancel asked here or by a peer: answers whether this node runs that move and what became of the request; never throws. */
    private Forwarded cancelHere(String from, MoveMessages.Cancel c) {
        Optional<MovesInFlight.Entry> move = inFlight.running(c.name());
        if (move.isEmpty()) {
            return Forwarded.failed(Outcome.NOT_FOUND, "no move of " + c.name() + " is under way on "
                    + config().node() + (config().peers().isEmpty() ? "" : " or on any peer that answered")
                    + " ('svcmove moves' lists them)");
        }
        Optional<String> refused = move.get().cancel(c.by());
        if (refused.isPresent()) {
            return Forwarded.failed(Outcome.REFUSED, "the move of " + c.name() + " cannot be cancelled: "
                    + refused.get());
        }
        log.info("move of {} cancelled by {}, at {}: it rolls back at its next step", c.name(), c.by(), move.get().at());
        return Forwarded.done(ControlMessage.JSON.createObjectNode().put("service", c.name()).put("node", config().node())
                .put("at", move.get().at()));
    }

    /** A source's answer to a destination holding a cell for move {@code id}: is that move still on here? */
    private MoveMessages.Active active(String from, MoveMessages.MoveRef ref) {
        String id = ref.moveId();
        return new MoveMessages.Active(registry.all().stream().anyMatch(r -> r.move() != null && r.move().id().equals(id)));
    }

    /** The peer requests a source answers, by type. */
    public Map<String, RequestHandler> handlers() {
        return Map.of(MoveMessages.Type.RUN, Messages.typed(MoveMessages.Run.class, this::forwarded),
                MoveMessages.Type.RUN_CHECK, Messages.typed(MoveMessages.Run.class, this::forwardedCheck),
                MoveMessages.Type.ACTIVE, Messages.typed(MoveMessages.MoveRef.class, this::active),
                MoveMessages.Type.WHERE, Messages.typed(MoveMessages.ServiceRef.class, this::where),
                // A destination's answer to "can you take a lazy move?".
                MoveMessages.Type.LAZY_CHECK, Messages.typed((from, body) -> new MoveMessages.LazyCheck(LazySupport.missing(criu,
                        config().node()), PrecopySupport.missing(criu, config().node()))),
                IN_FLIGHT, (from, body) -> inFlight(),
                MoveMessages.Type.CANCEL, Messages.typed(MoveMessages.Cancel.class, this::cancelHere));
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
        return onOwner(owner, MoveMessages.Type.RUN, run(req), FORWARDED);
    }

    /** A move forwarded by a peer's agent: answers with the report or the failure, never throws. */
    private Forwarded forwarded(String from, MoveMessages.Run run) {
        return answer(() -> moveFromHere(run.name(), run.node(), run.buffer(), run.force(), run.mode() == null ? "auto" : run.mode(),
                e -> {}));
    }

    /** A check forwarded by a peer's agent, as {@link #forwarded}. */
    private Forwarded forwardedCheck(String from, MoveMessages.Run run) {
        return answer(() -> checkHere(run.name(), run.node(), run.mode() == null ? "auto" : run.mode(), run.force()));
    }

    private static MoveMessages.Run run(JsonNode req) {
        return new MoveMessages.Run(req.path("name").asText(), req.path("node").asText(), req.path("buffer").asBoolean(true),
                req.path("force").asBoolean(), req.path("mode").asText("auto"));
    }

    /** A request of the CLI's run by the node that runs the service: its report, or its failure with the outcome it had there. */
    private JsonNode onOwner(String owner, String type, MoveMessages.Run run, Duration timeout) throws Exception {
        return Peers.call(peers, owner, type, run, Forwarded.class, timeout).reportOrThrow();
    }

    /** A forwarded request's answer: the report, or the failure's outcome and message. */
    private static Forwarded answer(Supplier<JsonNode> work) {
        try {
            return Forwarded.done(work.get());
        } catch (ControlException e) {
            return Forwarded.failed(e);
        }
    }

    /**
     * Where a service runs, for peers looking for it: here if it is recorded here and its process is
     * its own, or it is in a move from or to here. A dead record (a node back from a crash) is not.
     */
    private MoveMessages.Where where(String from, MoveMessages.ServiceRef service) {
        return new MoveMessages.Where(config().node(), registry.find(service.name())
                .filter(r -> r.move() != null || r.arriving() || ProcessIdentity.same(r.pid(), r.pidStart())).isPresent());
    }

    private String whereIs(String name) {
        for (AgentConfig.Peer p : config().peers()) {
            try {
                if (Peers.call(peers, p.name(), MoveMessages.Type.WHERE, new MoveMessages.ServiceRef(name), MoveMessages.Where.class, ASK)
                        .runsHere()) {
                    return p.name();
                }
            } catch (Exception e) {
                log.info("asking {} for {}: {}", p.name(), name, e.getMessage());
            }
        }
        throw new ControlException(Outcome.NOT_FOUND, "no service named " + name + " on " + config().node()
                + " or on any reachable peer ('svcmove status' on each node lists them)");
    }

    /** A move from here, counted in the metrics by how it ended (a forwarded move is counted where it runs). */
    private JsonNode moveFromHere(String name, String to, boolean buffer, boolean force, String mode, Consumer<JsonNode> events) {
        if (!List.of("eager", "lazy", "precopy", "auto").contains(mode)) {
            throw new ControlException(Outcome.USAGE, "--mode is eager, lazy, precopy or auto, not '" + mode + "'");
        }
        Mode chosen = new Mode(mode);
        try {
            JsonNode report = moveChecked(name, to, buffer, force, chosen, events);
            metrics.ended(chosen.label, Outcome.OK);
            return report;
        } catch (ControlException e) {
            metrics.ended(chosen.label, e.outcome());
            throw e;
        } catch (RuntimeException e) {
            metrics.ended(chosen.label, Outcome.INTERNAL);
            throw e;
        }
    }

    /**
     * `svcmove check NAME NODE`: every pre-flight check of a move, run now without freezing or
     * building anything: the source's (here) and the destination's checks of prepare (asked of it),
     * each with its result, the reason and the fix. A move makes the same checks and refuses at the
     * first that fails. Unknown service or node: an error, as for a move. Asked on a node that does
     * not run NAME, it is forwarded to the one that does, as a move is.
     */
    public JsonNode check(JsonNode req) throws Exception {
        String name = req.path("name").asText();
        if (registry.find(name).isPresent()) {
            return checkHere(name, req.path("node").asText(), req.path("mode").asText("auto"), req.path("force").asBoolean());
        }
        return onOwner(whereIs(name), MoveMessages.Type.RUN_CHECK, run(req), FORWARDED_CHECK);
    }

    private JsonNode checkHere(String name, String to, String mode, boolean force) {
        requireKnown(name, to);
        ServiceRecord svc = recorded(name);
        List<Preflight> source = new ArrayList<>(List.of(criuHere(), clock(to, force), notMoving(svc)));
        Optional<Cell> running = cellOf(svc);
        source.add(running(svc, running));
        Optional<Preflight> chosen = running.map(cell -> mode(mode, cell, to, precopyMissing(mode, to)));
        running.ifPresent(cell -> source.add(uids(svc, cell)));
        chosen.ifPresent(source::add);
        if (running.isPresent() && (mode.equals("precopy") || chosen.filter(m -> m.reason().equals(PRECOPY)).isPresent())) {
            source.add(PrecopySupport.memory(PrecopySupport.Memory.of(running.get().pids())));
        }
        boolean lazy = chosen.filter(m -> m.reason().equals(LAZILY)).isPresent();
        if (Files.isDirectory(Path.of(config().hooks().dir()))) {
            source.add(new Preflight("hooks", Preflight.Result.WARN, "the pre-prepare hooks in " + config().hooks().dir()
                    + " are not run by a check", "a failing one refuses the move itself"));
        }
        ObjectNode out = ControlMessage.JSON.createObjectNode().put("service", name).put("from", config().node()).put("to", to);
        ArrayNode checks = out.putArray("checks");
        source.forEach(c -> checks.add(c.json(config().node())));
        if (running.isPresent()) {
            List<Long> pids = running.get().pids();
            MoveMessages.Check ask = new MoveMessages.Check(criuVersion, ServiceFiles.of(name, svc.node(), pids), svc,
                    NodeResources.Needs.of(pids, lazy));
            try {
                Peers.call(peers, to, MoveMessages.Type.CHECK, ask, MoveMessages.Checked.class, ASK).checks()
                        .forEach(c -> checks.add(c.json(to)));
            } catch (Exception e) {
                checks.add(Preflight.refuse("reach", to + " did not answer (" + e.getMessage() + ")",
                        "start its agent ('systemctl start svcmove-agent' there) or check the network between the nodes")
                        .json(config().node()));
            }
        }
        boolean refused = false;
        for (JsonNode c : checks) {
            refused |= c.path("result").asText().equals(Preflight.Result.REFUSE.label());
        }
        return out.put("would_move", !refused);
    }

    /** NODE is one of this node's peers, not itself: else the move (or its check) is an error. */
    private void requireKnown(String name, String to) {
        AgentConfig config = config();
        if (to.equals(config.node())) {
            throw new ControlException(Outcome.REFUSED, name + " already runs on " + to);
        }
        if (!config.isPeer(to)) {
            throw new ControlException(Outcome.NOT_FOUND, "unknown node " + to + ": " + config.node() + " knows "
                    + String.join(", ", config.peerNames()) + " (the [[peers]] of its agent.toml)");
        }
    }

    private ServiceRecord recorded(String name) {
        return registry.find(name).orElseThrow(() -> new ControlException(Outcome.NOT_FOUND, "no service named " + name + " on "
                + config().node()));
    }

    private static void refuseIf(Preflight check) {
        Preflight.firstRefusal(List.of(check)).ifPresent(r -> {
            throw new ControlException(Outcome.REFUSED, r.message());
        });
    }

    private Preflight criuHere() {
        return criu != null ? Preflight.ok("criu-here") : Preflight.refuse("criu-here", "CRIU is missing or does not work on "
                + config().node() + ", so nothing can move from here", "run 'make setup' on " + config().node());
    }

    private Preflight clock(String to, boolean force) {
        try {
            clocks.checkWallOffset(config().node(), to, config().move().maxClockOffsetMs(), force);
            return Preflight.ok("clock");
        } catch (ControlException e) {
            return Preflight.refuse("clock", e.getMessage(), "");
        }
    }

    private static Preflight notMoving(ServiceRecord svc) {
        if (svc.move() != null) {
            return Preflight.refuse("moving", "the move " + svc.move().id() + " of " + svc.name() + " to " + svc.move().to() + " (stage "
                    + svc.move().stage().label() + ") is still being finished", "see 'svcmove status', then try again");
        }
        if (svc.arriving()) {
            return Preflight.refuse("moving", svc.name() + " arrived from " + svc.arrival().from() + " (move " + svc.arrival().id()
                    + ") and " + svc.arrival().from() + " has not let go of it yet",
                    "try again once it has ('svcmove status' shows the arrival until then)");
        }
        return Preflight.ok("moving");
    }

    private Optional<Cell> cellOf(ServiceRecord svc) {
        return cells.find(svc.name()).filter(c -> c.pids().contains(svc.pid()));
    }

    private Preflight running(ServiceRecord svc, Optional<Cell> cell) {
        return cell.isPresent() ? Preflight.ok("running") : Preflight.refuse("running", svc.name() + " is not running on "
                + config().node() + " ('svcmove status')", "only a running service moves");
    }

    private Preflight uids(ServiceRecord svc, Cell cell) {
        try {
            ForeignUids.check(svc.name(), config().node(), cell.pids());
            return Preflight.ok("uids");
        } catch (ControlException e) {
            return Preflight.refuse("uids", e.getMessage(), "");
        }
    }

    /** The mode a move is counted under: the one asked for until the move chose eager or lazy. */
    private static final class Mode {
        String label;

        Mode(String asked) {
            label = asked;
        }
    }

    /**
     * The move is listed, and a cancel taken, from the moment it is asked: before its checks, its
     * wait for this node's other move or checkpoint and its pre-prepare hooks, none of which reports
     * a phase to the CLI. A cancel before the step table stops it there, with nothing to undo; from
     * the step table on, at its next boundary. [move] timeout_s counts from then too.
     */
    private JsonNode moveChecked(String name, String to, boolean buffer, boolean force, Mode mode, Consumer<JsonNode> events) {
        MovesInFlight.Entry listed = inFlight.begin(name, config().node(), to, mode.label).orElseThrow(() -> new ControlException(
                Outcome.REFUSED, "a move of " + name + " is already under way on " + config().node() + " ('svcmove moves' shows it)"));
        int limit = config().move().timeoutS();
        ScheduledFuture<?> timeout = limit == 0 ? null : timeouts.schedule(() -> timedOut(listed, name, limit), limit, TimeUnit.SECONDS);
        try {
            return moveListed(listed, name, to, buffer, force, mode, events);
        } catch (MovesInFlight.Cancelled e) {
            String message = "move of " + name + " to " + to + " " + e.getMessage() + "; nothing had changed, " + name
                    + " still runs on " + config().node();
            log.warn(message);
            throw new ControlException(Outcome.ROLLED_BACK, message);
        } finally {
            listed.end();
            if (timeout != null) {
                timeout.cancel(false);
            }
        }
    }

    private JsonNode moveListed(MovesInFlight.Entry listed, String name, String to, boolean buffer, boolean force, Mode mode,
            Consumer<JsonNode> events) {
        requireKnown(name, to);
        refuseIf(criuHere());
        refuseIf(clock(to, force));
        synchronized (moving) {
            ServiceRecord svc = recorded(name);
            refuseIf(notMoving(svc));
            Optional<Cell> running = cellOf(svc);
            refuseIf(running(svc, running));
            Cell cell = running.get();
            refuseIf(uids(svc, cell));
            List<String> noPrecopy = precopyMissing(mode.label, to);
            if (mode.label.equals("precopy") && !noPrecopy.isEmpty()) {
                refuseIf(PrecopySupport.refusal(noPrecopy));
            }
            Choice choice = choose(mode.label, cell, noPrecopy);
            listed.cancelIfAsked("before the pre-prepare hooks");
            Hooks.Run hooksRun = hooks.forMove(new Hooks.Move(name, svc.vip(), config().node(), to));
            hooksRun.prePrepare();
            MoveListener progress = hooksRun.around(new ProgressEvents(events));
            log.info("moving {} from {} to {}", name, config().node(), to);
            try {
                OutgoingMove.Lazy lazy = choice.mode.equals("lazy") ? lazy(cell, to, events) : null;
                if (choice.mode.equals("lazy") && lazy == null) {
                    choice = new Choice("eager", choice.why + ", but a lazy move is not possible (see the warning)");
                }
                mode.label = choice.mode;
                listed.mode(choice.mode);
                events.accept(ControlMessage.JSON.createObjectNode().put("mode", choice.mode).put("mode_reason", choice.why));
                if (choice.mode.equals("precopy")) {
                    warnOfPrecopyMemory(cell, events);
                }
                OutgoingMove.Report r = outgoing(MoveListener.both(listed, progress), lazy, choice.mode.equals("precopy"), buffer)
                        .run(svc, SourceCell.of(cell), to, criuVersion);
                metrics.completed(r);
                log.info("moved {} to {}: buffered {} packets ({} bytes, {} dropped), injected {}", name, to, r.buffer().buffered(),
                        r.buffer().bytes(), r.buffer().dropped(), r.buffer().injected());
                log.info("moved {} to {}: frozen {} ms, phases {}", name, to, r.freezeMicros() / 1000, r.result().micros());
                if (r.pagesFailure() != null) {
                    String message = "move of " + name + " to " + to + " FAILED after the service started there: not every page "
                            + "arrived from " + config().node() + " (" + r.pagesFailure().lines().findFirst().orElse("") + "). " + name
                            + " has been killed on " + to + " and is marked failed there; a lazy move cannot be rolled back. "
                            + "Start it again with 'svcmove run'";
                    log.error(message);
                    throw new ControlException(Outcome.FAILED, message);
                }
                r.result().cleanupFailures().forEach(e -> log.warn("move of {} done, but cleanup failed: {}", name, e.getMessage()));
                return report(r, choice.why);
            } catch (MoveUnresolvedException e) {
                unfinished.resolve(name);
                String message = "move of " + name + " to " + to + ": outcome unknown (" + e.step().phase().label() + ": "
                        + e.step().name() + ": " + e.getMessage() + "): " + name + " is frozen on " + config().node() + " and may run on "
                        + to + "; svcmove resolves it when " + to + " answers ('svcmove status' on both nodes shows where it runs)";
                log.warn(message);
                throw new ControlException(Outcome.UNKNOWN, message);
            } catch (MoveFailedException e) {
                // A cancel undoes what was begun, even in prepare: the asker learns it rolled back.
                Outcome outcome = e.phase() == Phase.PREPARE && !(e.getCause() instanceof MovesInFlight.Cancelled) ? Outcome.REFUSED
                        : Outcome.ROLLED_BACK;
                String what = outcome == Outcome.REFUSED ? "refused" : "rolled back";
                String message = "move of " + name + " to " + to + " " + what + " (" + e.phase().label() + ": " + e.step() + "): "
                        + e.getMessage() + "; " + name + " still runs on " + config().node();
                if (e.rollbackIncomplete()) {
                    message += ". The rollback itself met errors (" + e.getSuppressed()[0].getMessage() + "): check 'svcmove status'";
                }
                log.warn(message, e);
                throw new ControlException(outcome, message);
            }
        }
    }

    /** [move] timeout_s passed: the move is cancelled as `svcmove cancel` would, or goes on past its point of no return. */
    private static void timedOut(MovesInFlight.Entry move, String name, int limit) {
        String at = move.at();
        move.cancel("its [move] timeout_s (" + limit + " s)").ifPresentOrElse(
                refused -> log.warn("move of {} outlasted [move] timeout_s ({} s) at {}, but is not cancelled: {}", name, limit, at, refused),
                () -> log.warn("move of {} outlasted [move] timeout_s ({} s) at {}: cancelled, it rolls back at its next step", name, limit, at));
    }

    /**
     * The lazy part of a move chosen lazy, or null when either node cannot make one: it then moves
     * eagerly, with a warning naming what is missing.
     */
    private OutgoingMove.Lazy lazy(Cell cell, String to, Consumer<JsonNode> events) {
        List<String> missing = lazyMissing(to);
        AgentConfig config = config();
        String address = config.listen().substring(0, config.listen().lastIndexOf(':'));
        if (missing.isEmpty()) {
            try {
                return new OutgoingMove.Lazy(address, LazySupport.freePort(address), IncomingMoves.pageServerTls(config),
                        ClusterPki.loadCertificate(Path.of(config.tls().ca())), config.peerHost(to));
            } catch (IOException e) {
                missing.add("the page server cannot be set up on " + address + " (" + e.getMessage() + ")");
            }
        }
        String warning = "lazy move not possible, moving eagerly instead: " + String.join("; ", missing);
        log.warn(warning);
        events.accept(ControlMessage.JSON.createObjectNode().put("warning", warning));
        return null;
    }

    /** A pre-copy move of a service whose memory the rounds cannot shrink much says so, as its check does. */
    private static void warnOfPrecopyMemory(Cell cell, Consumer<JsonNode> events) {
        Preflight memory = PrecopySupport.memory(PrecopySupport.Memory.of(cell.pids()));
        if (memory.result() == Preflight.Result.WARN) {
            String warning = "pre-copy will not shrink all of the freeze: " + memory.message();
            log.warn(warning);
            events.accept(ControlMessage.JSON.createObjectNode().put("warning", warning));
        }
    }

    /** How a move goes, and why (as its output says). */
    private record Choice(String mode, String why) {}

    /**
     * The mode of a move of this tree: as asked, or for auto: pre-copy where both nodes track dirty
     * pages ({@code noPrecopy} empty), else lazy above [move] lazy_above_mb of resident memory, else
     * eager. A lazy move either node cannot make still falls back to eager ({@link #lazy}).
     */
    private Choice choose(String mode, Cell cell, List<String> noPrecopy) {
        if (!mode.equals("auto")) {
            return new Choice(mode, "--mode " + mode);
        }
        if (noPrecopy.isEmpty()) {
            return new Choice("precopy", "--mode auto: both nodes track dirty pages");
        }
        long mb = LazySupport.residentBytes(cell.pids()) >> 20;
        boolean lazy = mb > config().move().lazyAboveMb();
        return new Choice(lazy ? "lazy" : "eager", "--mode auto: no pre-copy (" + String.join("; ", noPrecopy) + "), and " + mb
                + " MB resident is " + (lazy ? "" : "not ") + "above [move] lazy_above_mb (" + config().move().lazyAboveMb() + ")");
    }

    /**
     * What keeps a pre-copy move of MODE from here to TO: for precopy this node's kernel (only the
     * source dumps), for auto both nodes' (a service that came here pre-copied can leave the same way);
     * nothing for the other modes.
     */
    private List<String> precopyMissing(String mode, String to) {
        if (!mode.equals("precopy") && !mode.equals("auto")) {
            return List.of();
        }
        List<String> missing = new ArrayList<>(PrecopySupport.missing(criu, config().node()));
        if (mode.equals("auto")) {
            try {
                List<String> there = Peers.call(peers, to, MoveMessages.Type.LAZY_CHECK, Map.of(), MoveMessages.LazyCheck.class, ASK)
                        .precopyMissing();
                missing.addAll(there != null ? there : List.of(to + ": its agent does not know pre-copy"));
            } catch (Exception e) {
                missing.add(to + " could not say whether it tracks dirty pages (" + e.getMessage() + ")");
            }
        }
        return missing;
    }

    /** What keeps this node or TO from a lazy move, in the operator's words; empty when both can make one. */
    private List<String> lazyMissing(String to) {
        List<String> missing = new ArrayList<>(LazySupport.missing(criu, config().node()));
        try {
            missing.addAll(Peers.call(peers, to, MoveMessages.Type.LAZY_CHECK, Map.of(), MoveMessages.LazyCheck.class, ASK).missing());
        } catch (Exception e) {
            missing.add(to + " could not say whether it can take a lazy move (" + e.getMessage() + ")");
        }
        return missing;
    }

    private static final String EAGERLY = "would move eagerly";
    private static final String LAZILY = "would move lazily";

    private static final String PRECOPY = "would pre-copy";

    /**
     * The mode the move would take ({@link #choose}): refused for precopy where this node cannot;
     * lazy only where both nodes can, else eager with a warning.
     */
    private Preflight mode(String mode, Cell cell, String to, List<String> noPrecopy) {
        if (mode.equals("precopy") && !noPrecopy.isEmpty()) {
            return PrecopySupport.refusal(noPrecopy);
        }
        return switch (choose(mode, cell, noPrecopy).mode) {
            case "precopy" -> new Preflight("mode", Preflight.Result.OK, PRECOPY, "");
            case "lazy" -> {
                List<String> missing = lazyMissing(to);
                yield missing.isEmpty() ? new Preflight("mode", Preflight.Result.OK, LAZILY, "")
                        : new Preflight("mode", Preflight.Result.WARN, "a lazy move is not possible (" + String.join("; ", missing) + ")",
                                "it would move eagerly");
            }
            default -> new Preflight("mode", Preflight.Result.OK, EAGERLY, "");
        };
    }

    private static JsonNode report(OutgoingMove.Report r, String modeReason) {
        ObjectNode n = ControlMessage.JSON.createObjectNode().put("service", r.service()).put("from", r.from()).put("to", r.to())
                .put("pid", r.pid()).put("freeze_ms", r.freezeMicros() / 1000.0).put("image_bytes", r.transferBytes())
                .put("mode", r.mode()).put("mode_reason", modeReason);
        if (!r.precopyRounds().isEmpty()) {
            ArrayNode rounds = n.putArray("precopy_rounds");
            r.precopyRounds().forEach(x -> rounds.addObject().put("round", x.round()).put("pages", x.pages()).put("bytes", x.bytes())
                    .put("ms", x.micros() / 1000.0));
            n.put("final_dump_pages", r.finalDumpPages());
        }
        if (r.memoryAfterBytes() > 0) {
            n.put("memory_after_restore_bytes", r.memoryAfterBytes());
        }
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

    /** What a recovery does, in the agent's log. */
    private static final class LoggedMove implements MoveListener {
        @Override
        public void stepFailed(Step step, Exception cause) {
            log.warn("finishing a move: {} failed: {}", step.name(), cause.getMessage());
        }

        @Override
        public void stepRetried(Step step) {
            log.info("finishing a move: {} went through when tried again", step.name());
        }

        @Override
        public void undone(Step step, long micros) {
            log.info("finishing a move: undone: {}", step.name());
        }
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
                    .put("step", step.name()).put("boundary", step.id()).put("message", String.valueOf(cause.getMessage())));
        }

        @Override
        public void stepRetried(Step step) {
            events.accept(ControlMessage.JSON.createObjectNode().put("phase", step.phase().label()).put("state", "retried")
                    .put("step", step.name()).put("boundary", step.id()));
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
        public void precopyRound(OutgoingMove.Round r) {
            events.accept(ControlMessage.JSON.createObjectNode().put("phase", Phase.PRECOPY.label()).put("round", r.round())
                    .put("pages", r.pages()).put("bytes", r.bytes()).put("ms", r.micros() / 1000.0));
        }

        @Override
        public void transferred(long sent, long total) {
            long now = System.nanoTime();
            boolean done = sent == total;
            if (done ? !complete : now - lastProgress > 100_000_000L) {
                lastProgress = now;
                events.accept(ControlMessage.JSON.createObjectNode().put("phase", Phase.TRANSFER.label()).put("sent", sent).put("total", total));
            }
            // A pre-copy move sends several transfers: each one's end is shown once.
            complete = done;
        }
    }
}
