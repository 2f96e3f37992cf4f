package io.svcmove.vip;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cells of one node. Blocking (runs ip, nft and arping): keep it off event loops.
 *
 * <p>A cell is a named netns {@code <node>.<service>}; the node's cells are exactly the netns with
 * that prefix, so the kernel is the only record of them and there is no state file to go stale.
 * The gateway, which the kernel forgets while the link is down, is kept in eth0's alias.
 */
public final class Cells {

    private static final Logger LOG = LoggerFactory.getLogger(Cells.class);
    private static final String ALIAS = "svcmove";
    private static final String ALIAS_GATEWAY = ALIAS + " gateway=";
    private static final Duration TERM_GRACE = Duration.ofSeconds(5);
    private static final Duration KILL_WAIT = Duration.ofSeconds(5);

    private final String node;
    private final Netns nodeNetns;
    private final DuplicateAddressProbe probe;

    /** Cells of {@code node}, whose LAN interfaces are in this JVM's own network namespace (a real server). */
    public Cells(String node) {
        this(node, null);
    }

    /**
     * Cells of {@code node}, whose LAN interfaces are in the named netns {@code nodeNetns} (the test
     * bed's nodes) rather than in this JVM's own network namespace; {@code null} means the JVM's.
     */
    public Cells(String node, String nodeNetns) {
        CellSpec.validateNode(node);
        this.node = node;
        this.nodeNetns = nodeNetns == null
                ? new Netns(null, "node " + node)
                : new Netns(Netns.pathOf(nodeNetns), "node " + node + " (netns " + nodeNetns + ")");
        this.probe = new DuplicateAddressProbe(this.nodeNetns::wrap);
    }

    public String node() {
        return node;
    }

    /**
     * Creates the cell for {@code spec}, its link up or down as asked. Every check that can fail
     * because of the spec runs before anything is made; a failure half-way removes what was made.
     *
     * @throws CellException naming the cause and the fix
     */
    public synchronized Cell create(CellSpec spec, boolean up) {
        return make(spec, up, true);
    }

    /**
     * The destination's cell of a move: held, then its link up, so that nothing goes in or out
     * before the service is restored, yet its routes exist (restoring a TCP connection connects
     * its socket, which needs a route). No duplicate-address probe: the source still answers for
     * the VIP, rightly.
     */
    public synchronized Cell createHeld(CellSpec spec) {
        Cell cell = make(spec, false, false);
        try {
            cell.hold();
            cell.linkUp();
        } catch (RuntimeException e) {
            deleteNetns(cell.netnsName());
            throw e;
        }
        return cell;
    }

    private Cell make(CellSpec spec, boolean up, boolean probeLan) {
        if (!spec.node().equals(node)) {
            throw new CellException("cell for service " + spec.service() + " is meant for node " + spec.node()
                    + " but this is node " + node + "; create it on " + spec.node());
        }
        String name = spec.netnsName();
        Path path = Netns.pathOf(name);
        if (Files.exists(path)) {
            throw new CellException("cell " + name + " already exists (" + path + "); destroy it first");
        }
        check(spec, probeLan);

        Vips vips = spec.vips();
        LOG.info("cell {}: creating, VIP {} MAC {} on {} of node {}, link {}", name, vips, vips.mac(),
                spec.parentInterface(), node, up ? "up" : "down");
        Exec.check("cannot create network namespace " + name, List.of("ip", "netns", "add", name));
        try {
            Netns cellNetns = new Netns(path, "cell " + name);
            // Before the macvlan arrives, so that eth0 inherits them from "default".
            List<String> sysctl = new ArrayList<>(List.of("sysctl", "-q", "-w"));
            sysctl.addAll(ipv6Settings(vips));
            cellNetns.run(vips.ipv6().isPresent() ? "tuning IPv6" : "disabling IPv6", sysctl.toArray(String[]::new));
            // Created straight into the cell (netns attribute), under a name of its own that is renamed
            // there: the kernel first looks the new name up on the node, where a NIC may be eth0 already
            // (a real server's; 'File exists').
            String created = "svc" + Integer.toHexString(name.hashCode());
            nodeNetns.run("creating the macvlan on " + spec.parentInterface(), "ip", "link", "add", "link",
                    spec.parentInterface(), "name", created, "netns", name, "address", vips.mac(),
                    "type", "macvlan", "mode", "bridge");
            cellNetns.run("naming the macvlan " + Cell.DEVICE, "ip", "link", "set", created, "name", Cell.DEVICE);
            String alias = spec.gateway().map(gw -> ALIAS_GATEWAY + Addresses.text(gw)).orElse(ALIAS);
            cellNetns.run("labelling " + Cell.DEVICE, "ip", "link", "set", Cell.DEVICE, "alias", alias);
            // ARP and neighbour solicitations retried every 100 ms rather than 1 s: a lookup that meets the
            // hold of a move must not stall the service for a second.
            cellNetns.run("tuning ARP", "sysctl", "-q", "-w", "net.ipv4.neigh." + Cell.DEVICE + ".retrans_time_ms=100");
            if (vips.ipv6().isPresent()) {
                cellNetns.run("tuning neighbour discovery", "sysctl", "-q", "-w", "net.ipv6.neigh." + Cell.DEVICE + ".retrans_time_ms=100");
            }
            cellNetns.run("bringing lo up", "ip", "link", "set", "lo", "up");
            for (Vip vip : vips.all()) {
                // nodad: the kernel's duplicate-address detection would keep an IPv6 VIP unusable (tentative)
                // for a second or more after every move; run's own probe checks the LAN once, up front.
                List<String> add = new ArrayList<>(List.of("ip", "addr", "add", vip.toString(), "dev", Cell.DEVICE));
                if (vip.isIpv6()) {
                    add.add("nodad");
                }
                cellNetns.run("adding the VIP " + vip, add.toArray(String[]::new));
            }
            Cell cell = new Cell(node, spec.service(), vips, spec.gateway());
            if (up) {
                cell.linkUp();
            }
            LOG.info("cell {}: created", name);
            return cell;
        } catch (RuntimeException e) {
            LOG.warn("cell {}: creation failed, removing it: {}", name, e.getMessage());
            try {
                deleteNetns(name);
            } catch (RuntimeException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
    }

    /**
     * A cell without an IPv6 VIP has no IPv6 at all: eth0 never gets a link-local address nor sends
     * router solicitations. One with an IPv6 VIP keeps its link-local address (neighbour discovery
     * and MLD want one) but neither learns routes or addresses from router advertisements nor runs
     * duplicate-address detection, which would send from the held cell and delay every move.
     */
    static List<String> ipv6Settings(Vips vips) {
        if (vips.ipv6().isEmpty()) {
            return List.of("net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1");
        }
        return List.of("net.ipv6.conf.default.disable_ipv6=0", "net.ipv6.conf.default.accept_ra=0", "net.ipv6.conf.default.autoconf=0",
                "net.ipv6.conf.default.accept_dad=0", "net.ipv6.conf.default.router_solicitations=0");
    }

    /** The checks of {@link #create}: nothing is changed. */
    private void check(CellSpec spec, boolean probeLan) {
        String dev = spec.parentInterface();
        List<String> links = nodeNetns.linkNames();
        if (!links.contains(dev)) {
            throw new CellException("parent interface " + dev + " not found on node " + node + "; its interfaces are: "
                    + String.join(", ", links) + ". Give the interface on the service's LAN");
        }
        List<Netns.Addr> addrs = nodeNetns.addresses(dev);
        for (Vip vip : spec.vips().all()) {
            checkSubnet(node, dev, vip, addrs);
        }
        spec.gateway().ifPresent(gw -> {
            if (spec.vips().all().stream().anyMatch(v -> v.address().equals(gw))) {
                throw new CellException("gateway " + Addresses.text(gw) + " is the VIP itself; give the LAN's router");
            }
        });
        for (Cell other : list()) {
            for (Vip vip : spec.vips().all()) {
                if (other.vips().all().stream().anyMatch(v -> v.address().equals(vip.address()))) {
                    throw new CellException("VIP " + vip.addressText() + " is already used by cell " + other.netnsName()
                            + " on this node; choose another VIP or destroy that cell");
                }
            }
        }
        for (Vip vip : probeLan ? spec.vips().all() : List.<Vip>of()) {
            DuplicateAddressProbe.Answer answer = probe.probe(dev, vip.addressText());
            if (answer.inUse()) {
                String who = answer.macs().isEmpty() ? "an unknown host" : String.join(", ", answer.macs());
                String hint = answer.macs().contains(spec.vips().mac())
                        ? " (svcmove's own MAC for this VIP: a cell on another node holds it; move or destroy that one)"
                        : "; choose a free address, or find and reconfigure the host with that MAC";
                throw new CellException("VIP " + vip.addressText() + " is already in use on the LAN of " + dev
                        + " (node " + node + "): answered by " + who + hint);
            }
        }
    }

    /**
     * The VIP must lie in one of the parent interface's subnets of its family (IPv6: of global scope),
     * with that subnet's prefix length, and not be one of the node's own addresses.
     */
    static void checkSubnet(String node, String dev, Vip vip, List<Netns.Addr> all) {
        List<Netns.Addr> addrs = all.stream().filter(a -> a.address().getClass() == vip.address().getClass()).toList();
        String family = vip.isIpv6() ? "IPv6" : "IPv4";
        if (addrs.isEmpty()) {
            throw new CellException("parent interface " + dev + " on node " + node + " has no " + family
                    + " address" + (vip.isIpv6() ? " of global scope" : "") + ", so the VIP's subnet cannot be checked; give "
                    + dev + " its address " + (vip.isIpv6() ? "in the VIP's prefix " : "") + "first");
        }
        for (Netns.Addr a : addrs) {
            if (a.address().equals(vip.address())) {
                throw new CellException("VIP " + vip.addressText() + " is node " + node + "'s own address on " + dev
                        + "; choose a free address in " + a.subnet());
            }
        }
        Optional<Netns.Addr> home = addrs.stream().filter(a -> a.subnet().contains(vip.address())).findFirst();
        if (home.isEmpty()) {
            String subnets = addrs.stream().map(a -> a.subnet().toString()).distinct().collect(Collectors.joining(", "));
            throw new CellException("VIP " + vip.addressText() + " is outside the " + (vip.isIpv6() ? "IPv6 prefixes" : "subnet")
                    + " of " + dev + " on node " + node + " (" + subnets + "); choose a VIP in "
                    + (addrs.size() > 1 ? "one of them" : "it") + " or another parent interface");
        }
        Subnet subnet = home.get().subnet();
        if (subnet.prefixLength() != vip.prefixLength()) {
            throw new CellException("VIP " + vip + " does not have the prefix length of its subnet " + subnet + " on "
                    + dev + "; write it as " + vip.addressText() + "/" + subnet.prefixLength());
        }
    }

    /** The cell of {@code service} on this node, if its netns exists. */
    public Optional<Cell> find(String service) {
        CellSpec.validateService(service);
        String name = node + "." + service;
        if (!Files.exists(Netns.pathOf(name))) {
            return Optional.empty();
        }
        Netns netns = new Netns(Netns.pathOf(name), "cell " + name);
        Exec.Result r = Exec.run(netns.wrap(List.of("ip", "-j", "-d", "addr", "show", "dev", Cell.DEVICE)));
        JsonNode links = r.ok() ? Netns.parse(r.stdout(), "reading " + Cell.DEVICE) : Netns.parse("[]", "");
        List<Netns.Addr> addrs = Netns.addressesOf(links);
        if (addrs.isEmpty()) {
            throw new CellException("netns " + name + " exists but has no " + Cell.DEVICE
                    + " with a VIP: a cell whose creation was interrupted, or not a cell; destroy it and create it again");
        }
        String alias = links.path(0).path("ifalias").asText("");
        Optional<InetAddress> gateway = alias.startsWith(ALIAS_GATEWAY)
                ? CellSpec.gateway(alias.substring(ALIAS_GATEWAY.length()))
                : Optional.empty();
        return Optional.of(new Cell(node, service, new Vips(addrs.stream().map(a -> new Vip(a.address(), a.prefixLength())).toList()),
                gateway));
    }

    /** Cells of this node: the netns named {@code <node>.*}. Incomplete ones are logged and skipped. */
    public List<Cell> list() {
        List<Cell> cells = new ArrayList<>();
        if (!Files.isDirectory(Netns.NETNS_DIR)) {
            return cells;
        }
        String prefix = node + ".";
        List<String> services;
        try (Stream<Path> s = Files.list(Netns.NETNS_DIR)) {
            services = s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(prefix))
                    .map(n -> n.substring(prefix.length())).sorted().collect(Collectors.toList());
        } catch (IOException e) {
            throw new CellException("cannot list " + Netns.NETNS_DIR + ": " + e.getMessage(), e);
        }
        for (String service : services) {
            try {
                find(service).ifPresent(cells::add);
            } catch (CellException e) {
                LOG.warn("skipping {}{}: {}", prefix, service, e.getMessage());
            }
        }
        return cells;
    }

    /**
     * Destroys the cell of {@code service}: every process still in its netns gets SIGTERM, then
     * SIGKILL after a bounded wait; then the netns is deleted, which removes the macvlan.
     *
     * @return false if there was no such cell
     */
    public synchronized boolean destroy(String service) {
        CellSpec.validateService(service);
        String name = node + "." + service;
        Path path = Netns.pathOf(name);
        if (!Files.exists(path)) {
            return false;
        }
        long inode = Netns.inode(path);
        List<Long> pids = Netns.pidsIn(inode);
        if (!pids.isEmpty()) {
            LOG.info("cell {}: stopping {} process(es): {}", name, pids.size(), pids);
            signal(pids, false);
            pids = waitForNone(inode, TERM_GRACE);
            if (!pids.isEmpty()) {
                LOG.warn("cell {}: {} still running after {} s, sending SIGKILL", name, pids, TERM_GRACE.toSeconds());
                signal(pids, true);
                pids = waitForNone(inode, KILL_WAIT);
                if (!pids.isEmpty()) {
                    throw new CellException("cell " + name + ": processes " + pids + " survive SIGKILL (stuck in the kernel, state D?);"
                            + " the cell is left in place, destroy it again once they are gone");
                }
            }
        }
        deleteNetns(name);
        LOG.info("cell {}: destroyed", name);
        return true;
    }

    private static void deleteNetns(String name) {
        if (Files.exists(Netns.pathOf(name))) {
            Exec.check("cannot delete network namespace " + name, List.of("ip", "netns", "delete", name));
        }
    }

    private static void signal(List<Long> pids, boolean kill) {
        for (long pid : pids) {
            ProcessHandle.of(pid).ifPresent(p -> {
                if (kill) {
                    p.destroyForcibly();
                } else {
                    p.destroy();
                }
            });
        }
    }

    private static List<Long> waitForNone(long inode, Duration limit) {
        long deadline = System.nanoTime() + limit.toNanos();
        List<Long> left = Netns.pidsIn(inode);
        while (!left.isEmpty() && System.nanoTime() < deadline) {
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CellException("interrupted while waiting for processes " + left + " to stop", e);
            }
            left = Netns.pidsIn(inode);
        }
        return left;
    }
}
