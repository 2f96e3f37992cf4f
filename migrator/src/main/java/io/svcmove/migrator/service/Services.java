package io.svcmove.migrator.service;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.svcmove.arp.Announcement;
import io.svcmove.arp.ArpAnnouncer;
import io.svcmove.arp.ArpException;
import io.svcmove.migrator.config.AgentConfig;
import io.svcmove.migrator.control.ControlException;
import io.svcmove.migrator.control.ControlMessage;
import io.svcmove.migrator.control.Outcome;
import io.svcmove.migrator.dns.ServiceNames;
import io.svcmove.vip.Addresses;
import io.svcmove.vip.Cell;
import io.svcmove.vip.CellException;
import io.svcmove.vip.CellSpec;
import io.svcmove.vip.Cells;
import io.svcmove.vip.ServiceLauncher;
import io.svcmove.vip.Vip;
import io.svcmove.vip.Vips;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The node's services: start one in a new cell, stop it, say how they are. */
public final class Services {
    private static final Logger log = LoggerFactory.getLogger(Services.class);

    private final AgentConfig config;
    private final ServiceRegistry registry;
    private final Cells cells;
    private final ServiceLauncher launcher;
    private final ServiceNames names;

    public Services(AgentConfig config, ServiceRegistry registry, Cells cells, ServiceLauncher launcher) {
        this.config = config;
        this.registry = registry;
        this.cells = cells;
        this.launcher = launcher;
        this.names = new ServiceNames(config);
    }

    /**
     * At start: a cell without a service record is what a move or a start left when this agent died
     * half-way: it is removed. Every recorded service is either still running in its cell, or
     * reported dead.
     */
    public void adopt() {
        for (Cell cell : cells.list()) {
            if (registry.find(cell.service()).isEmpty()) {
                log.warn("removing cell {}: no service owns it (a move or start that did not finish)", cell.netnsName());
                destroyQuietly(cell.service());
            }
        }
        for (ServiceRecord r : registry.all()) {
            if (r.move() != null) {
                continue; // the move is finished from its record (UnfinishedMoves), which logs it
            } else if (running(r)) {
                log.info("adopted {}: pid {} in cell {} at {}", r.name(), r.pid(), r.netns(), r.vip());
            } else {
                log.warn("{} is dead: {}; 'svcmove stop {}' clears it", r.name(), whyDead(r), r.name());
            }
        }
    }

    /** RUN: a cell with the VIP, the service started in it, its VIP announced, DNS written, the record saved. */
    public synchronized JsonNode run(JsonNode req, ArpAnnouncer announcer) {
        String name = req.path("name").asText();
        Vips vips;
        CellSpec spec;
        try {
            vips = Vips.parse(req.path("vip").asText());
            spec = new CellSpec(name, config.node(), vips, req.path("dev").asText(config.iface()),
                    CellSpec.gateway(req.path("gateway").asText(null)));
        } catch (IllegalArgumentException | CellException e) {
            throw new ControlException(Outcome.REFUSED, e.getMessage());
        }
        if (registry.find(name).isPresent()) {
            throw new ControlException(Outcome.REFUSED, "a service named " + name + " already exists on " + config.node()
                    + " ('svcmove status' shows it; 'svcmove stop " + name + "' removes it)");
        }
        for (ServiceRecord other : registry.all()) {
            Optional<Vip> shared = vips.shared(Vips.parse(other.vip()));
            if (shared.isPresent()) {
                throw new ControlException(Outcome.REFUSED, shared.get().addressText() + " is already the VIP of " + other.name()
                        + " on " + config.node() + ": give each service its own VIP");
            }
        }
        String dns = req.hasNonNull("dns") ? names.qualify(req.path("dns").asText()) : null;
        List<String> command = new ArrayList<>();
        req.path("command").forEach(c -> command.add(c.asText()));
        Map<String, String> env = new LinkedHashMap<>();
        req.path("env").fields().forEachRemaining(e -> env.put(e.getKey(), e.getValue().asText()));
        String cwd = req.path("cwd").asText("/");
        List<String> carry = new ArrayList<>();
        for (JsonNode c : req.path("carry")) {
            String problem = CarriedFiles.problem(c.asText());
            if (problem != null) {
                throw new ControlException(Outcome.USAGE, problem);
            }
            if (!carry.contains(c.asText())) {
                carry.add(c.asText());
            }
        }

        Cell cell;
        try {
            cell = cells.create(spec, true);
        } catch (CellException e) {
            throw new ControlException(Outcome.REFUSED, e.getMessage());
        }
        long pid;
        try {
            pid = launcher.start(cell, command, env, Path.of(cwd), logFile(name));
        } catch (CellException e) {
            destroyQuietly(name);
            throw new ControlException(Outcome.REFUSED, e.getMessage());
        } catch (RuntimeException e) {
            destroyQuietly(name);
            throw e;
        }
        // As keepalived does on taking a VIP: a switch and clients that last saw it on another node (where
        // the service ran before) would send to that node's port until their caches expire.
        try {
            for (Announcement a : VipAnnouncements.of(vips, config.move().arpRepeats(), Duration.ofMillis(config.move().arpIntervalMs()))) {
                announcer.announce(spec.parentInterface(), a);
            }
        } catch (ArpException e) {
            log.warn("started {}, but announcing {} failed ({}): clients that knew it on another node reach it once their ARP"
                    + " and neighbour caches expire", name, vips, e.getMessage());
        }
        // DNS is written once the service runs; with [dns] required a failure undoes the start.
        String dnsWarning = null;
        if (dns != null) {
            try {
                dnsWarning = names.register(dns, vips.all().stream().map(Vip::address).toList(), name);
            } catch (ControlException e) {
                launcher.stop(pid);
                destroyQuietly(name);
                throw new ControlException(e.outcome(), e.getMessage() + "; " + name + " was stopped and its cell removed");
            }
        }
        ServiceRecord r = new ServiceRecord(name, config.node(), vips.toString(), vips.mac(), spec.parentInterface(),
                spec.gateway().map(Addresses::text).orElse(null), command, env, cwd, pid, ProcessIdentity.startOf(pid), cell.netnsName(),
                System.currentTimeMillis(), dns, req.hasNonNull("checkpoint_every_s") ? req.path("checkpoint_every_s").asLong() : null,
                carry, null, null, null);
        registry.save(r);
        log.info("started {} (pid {}) in cell {} at {}: {}", name, pid, cell.netnsName(), vips, String.join(" ", command));
        ObjectNode reply = describe(r);
        return dnsWarning == null ? reply : reply.put("dns_warning", dnsWarning);
    }

    public synchronized JsonNode stop(JsonNode req) {
        String name = req.path("name").asText();
        ServiceRecord r = registry.find(name).orElseThrow(() -> new ControlException(Outcome.NOT_FOUND,
                "no service named " + name + " on " + config.node() + " ('svcmove status' lists them)"));
        requireStoppable(r);
        if (running(r)) {
            launcher.stop(r.pid());
        }
        try {
            cells.destroy(name);
        } catch (CellException e) {
            throw new ControlException(Outcome.FAILED, "stopped " + name + " but could not remove its cell: " + e.getMessage());
        }
        registry.remove(name);
        log.info("stopped {} and removed its cell {}", name, r.netns());
        ObjectNode n = ControlMessage.JSON.createObjectNode();
        n.put("name", name).put("netns", r.netns()).put("node", config.node());
        if (r.dns() != null) {
            String dnsWarning = names.remove(r.dns(), name);
            n.put("dns", r.dns());
            if (dnsWarning != null) {
                n.put("dns_warning", dnsWarning);
            }
        }
        return n;
    }

    /** Refuses, with the reason, to stop NAME while a move holds it (checked again by {@link #stop}). */
    public void checkStoppable(String name) {
        registry.find(name).ifPresent(this::requireStoppable);
    }

    private void requireStoppable(ServiceRecord r) {
        String name = r.name();
        // Half a stop during a move would be undone by it, or leave a second copy: refused, with what to wait for.
        if (r.move() != null) {
            throw new ControlException(Outcome.REFUSED, name + " is being moved to " + r.move().to() + " (move " + r.move().id()
                    + ", stage " + r.move().stage().label() + "): stop it once the move has ended, on the node that runs it then"
                    + " ('svcmove status' shows where)");
        }
        if (r.arriving()) {
            throw new ControlException(Outcome.REFUSED, name + " has arrived from " + r.arrival().from() + " (move "
                    + r.arrival().id() + ") but " + r.arrival().from() + " has not let go of its frozen copy yet: stop it once"
                    + " 'svcmove status' no longer shows the arrival");
        }
    }

    public JsonNode status(JsonNode req) {
        ObjectNode n = ControlMessage.JSON.createObjectNode().put("node", config.node());
        ArrayNode list = n.putArray("services");
        registry.all().forEach(r -> list.add(describe(r)));
        return n;
    }

    /** Whether NAME is this node's and its process runs. */
    public boolean runs(String name) {
        return registry.find(name).map(this::running).orElse(false);
    }

    /** The services recorded here whose process is not theirs any more (after a reboot: every one), outside any move. */
    public synchronized List<String> dead() {
        return registry.all().stream().filter(r -> r.move() == null && !r.arriving() && !running(r)).map(ServiceRecord::name).toList();
    }

    /**
     * NAME, dead here, runs on {@code node} now (recovered or moved while this node was down): its
     * record and any cell left of it go. Its DNS name is the running copy's and stays.
     */
    public synchronized void dropStale(String name, String node) {
        Optional<ServiceRecord> r = registry.find(name);
        if (r.isEmpty() || r.get().move() != null || running(r.get())) {
            return;
        }
        registry.remove(name);
        destroyQuietly(name);
        log.warn("{} runs on {} now: its stale record here ({}) is dropped, its VIP left to {}", name, node, whyDead(r.get()), node);
    }

    public Optional<ServiceRecord> find(String name) {
        return registry.find(name);
    }

    /** The states {@link #state} says, as status shows them. */
    private static final List<String> STATES = List.of("running", "failed", "dead");

    /** How many of the services recorded here are in each of {@link #STATES}. */
    public Map<String, Long> countByState() {
        Map<String, Long> counts = new LinkedHashMap<>();
        STATES.forEach(s -> counts.put(s, 0L));
        registry.all().forEach(r -> counts.merge(state(r), 1L, Long::sum));
        return counts;
    }

    private String state(ServiceRecord r) {
        return running(r) ? "running" : r.failure() != null ? "failed" : "dead";
    }

    private ObjectNode describe(ServiceRecord r) {
        String state = state(r);
        boolean up = state.equals("running");
        ObjectNode n = ControlMessage.JSON.createObjectNode()
                .put("name", r.name()).put("vip", r.vip()).put("mac", r.mac()).put("node", r.node())
                .put("state", state).put("pid", r.pid()).put("netns", r.netns())
                .put("uptime_seconds", (System.currentTimeMillis() - r.startedAt()) / 1000)
                .put("log", logFile(r.name()).toString());
        if (r.dns() != null) {
            n.put("dns", r.dns());
        }
        if (r.checkpointEverySeconds() != null) {
            n.put("checkpoint_every_s", r.checkpointEverySeconds());
        }
        if (!r.carry().isEmpty()) {
            r.carry().forEach(n.putArray("carry")::add);
        }
        if (r.failure() != null) {
            n.put("failure", r.failure());
        }
        if (r.move() != null) {
            n.putObject("move").put("id", r.move().id()).put("to", r.move().to()).put("stage", r.move().stage().label());
        }
        if (r.arriving()) {
            n.putObject("arrival").put("id", r.arrival().id()).put("from", r.arrival().from()).put("stage", r.arrival().stage().label());
        }
        if (!up && r.failure() == null) {
            n.put("reason", whyDead(r));
        }
        ArrayNode pids = n.putArray("pids");
        if (up) {
            try {
                cells.find(r.name()).ifPresent(c -> c.pids().forEach(pids::add));
            } catch (CellException e) {
                // Torn down since it was found running (a move's last steps): no PIDs to show.
                log.info("{}: {}", r.name(), e.getMessage());
            }
        }
        ArrayNode cmd = n.putArray("command");
        r.command().forEach(cmd::add);
        return n;
    }

    /**
     * Whether the recorded process is the service's and runs: in its cell, started when recorded. A
     * cell that cannot be read (interrupted creation, removed by hand) means the service is not running.
     */
    private boolean running(ServiceRecord r) {
        try {
            return ProcessIdentity.same(r.pid(), r.pidStart()) && cells.find(r.name()).map(c -> c.pids().contains(r.pid())).orElse(false);
        } catch (CellException e) {
            log.warn("{}: {}", r.name(), e.getMessage());
            return false;
        }
    }

    /** Why a recorded service is not running, for status and the log. */
    private String whyDead(ServiceRecord r) {
        Optional<Cell> cell;
        try {
            cell = cells.find(r.name());
        } catch (CellException e) {
            return "its cell " + r.netns() + " cannot be read (" + e.getMessage() + ")";
        }
        if (cell.isEmpty()) {
            return "its cell " + r.netns() + " is gone (the node restarted, or it was removed by hand)";
        }
        if (!ProcessIdentity.same(r.pid(), r.pidStart())) {
            return "its process " + r.pid() + " is gone (that number is free, or another process's now)";
        }
        return "its process " + r.pid() + " is not in its cell " + r.netns();
    }

    private Path logFile(String name) {
        return Path.of(config.logDir(), name + ".log");
    }

    private void destroyQuietly(String name) {
        try {
            cells.destroy(name);
        } catch (CellException e) {
            log.error("could not remove the half-made cell of {}: {}", name, e.getMessage());
        }
    }
}
