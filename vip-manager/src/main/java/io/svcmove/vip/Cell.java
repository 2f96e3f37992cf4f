package io.svcmove.vip;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A service's cell on this node: a named network namespace {@code <node>.<service>} whose only
 * interface besides lo is {@code eth0}, a macvlan with the VIPs' MAC and the VIPs. Obtained from
 * {@link Cells}. All methods block (they run ip and nft).
 */
public final class Cell {

    /** Name of the macvlan inside the cell. */
    public static final String DEVICE = "eth0";
    static final String HOLD_TABLE = "svcmove_hold";

    private static final Logger LOG = LoggerFactory.getLogger(Cell.class);

    private final String node;
    private final String service;
    private final Vips vips;
    private final Optional<InetAddress> gateway;
    private final Netns netns;
    private NftSession nft;

    Cell(String node, String service, Vips vips, Optional<InetAddress> gateway) {
        this.node = node;
        this.service = service;
        this.vips = vips;
        this.gateway = gateway;
        this.netns = new Netns(Netns.pathOf(netnsName()), "cell " + netnsName());
    }

    public String node() {
        return node;
    }

    public String service() {
        return service;
    }

    public Vips vips() {
        return vips;
    }

    public Optional<InetAddress> gateway() {
        return gateway;
    }

    /** {@code <node>.<service>}, e.g. {@code node1.web}. */
    public String netnsName() {
        return node + "." + service;
    }

    /** {@code /run/netns/<node>.<service>}: what the launcher and CRIU's inherit-fd open. */
    public Path netnsPath() {
        return Netns.pathOf(netnsName());
    }

    /** Inode of the cell's network namespace: CRIU marks the netns external by it ({@code net[INODE]:KEY}). */
    public long netnsInode() {
        return Netns.inode(netnsPath());
    }

    /** PIDs (in this JVM's PID namespace) of every live process in the cell's network namespace. */
    public List<Long> pids() {
        return Netns.pidsIn(netnsInode());
    }

    /**
     * Brings eth0 up: from now on the cell answers ARP for the VIP. Re-adds the default route,
     * which the kernel drops while the link is down.
     */
    public void linkUp() {
        netns.run("bringing " + DEVICE + " up", "ip", "link", "set", DEVICE, "up");
        gateway.ifPresent(gw -> netns.run("adding the default route via " + Addresses.text(gw),
                "ip", "route", "replace", "default", "via", Addresses.text(gw), "dev", DEVICE));
        LOG.info("cell {}: {} up ({})", netnsName(), DEVICE, vips);
    }

    /** Takes eth0 down: the cell neither sends nor answers anything on the LAN. */
    public void linkDown() {
        netns.run("taking " + DEVICE + " down", "ip", "link", "set", DEVICE, "down");
        LOG.info("cell {}: {} down", netnsName(), DEVICE);
    }

    public boolean isLinkUp() {
        for (JsonNode link : netns.ipJson("reading the state of " + DEVICE, "link", "show", "dev", DEVICE)) {
            for (JsonNode flag : link.path("flags")) {
                if ("UP".equals(flag.asText())) {
                    return true;
                }
            }
        }
        return false;
    }

    /** A neighbour the cell knows on its LAN: an IPv4 or IPv6 address and its MAC. */
    public record Neighbor(String address, String mac) {}

    /** The cell's resolved neighbours (eth0's ARP cache, and its IPv6 neighbour table if it has IPv6). */
    public List<Neighbor> neighbors() {
        List<Neighbor> out = new ArrayList<>();
        for (JsonNode n : netns.ipJson("reading the ARP cache", "neigh", "show", "dev", DEVICE)) {
            if (n.hasNonNull("lladdr") && n.hasNonNull("dst")) {
                out.add(new Neighbor(n.get("dst").asText(), n.get("lladdr").asText()));
            }
        }
        return out;
    }

    /**
     * Seeds the ARP cache, as stale entries (used at once, confirmed later by the kernel). A cell
     * restored after a move must answer its clients at once; resolving them first would cost a
     * round of ARP, or a whole retry interval if the first request met the hold.
     */
    public void addNeighbors(List<Neighbor> neighbors) {
        if (neighbors.isEmpty()) {
            return;
        }
        StringBuilder batch = new StringBuilder();
        neighbors.forEach(n -> batch.append("neigh replace ").append(n.address()).append(" lladdr ").append(n.mac())
                .append(" dev ").append(DEVICE).append(" nud stale\n"));
        netns.runWithInput("seeding the ARP cache", batch.toString(), "ip", "-batch", "-");
    }

    /**
     * Installs the hold: every frame into or out of eth0 is dropped, silently, ARP included, at
     * the device (netdev ingress and egress hooks). Dropping rather than rejecting matters: a RST,
     * an ICMP error or an ARP answer from a cell whose service is not (or no longer) there would
     * kill its clients' connections or pull the VIP to the wrong node, whereas dropped packets are
     * retransmitted. Idempotent: the table is replaced atomically in one nft transaction.
     */
    public void hold() {
        // One command a line: nft's interactive mode (openHoldControl) takes no multi-line blocks.
        String hook = " priority -500; policy accept; }\n";
        String script = "add table netdev " + HOLD_TABLE + "\n"
                + "delete table netdev " + HOLD_TABLE + "\n"
                + "add table netdev " + HOLD_TABLE + "\n"
                + "add chain netdev " + HOLD_TABLE + " in { type filter hook ingress device \"" + DEVICE + "\"" + hook
                + "add rule netdev " + HOLD_TABLE + " in counter drop\n"
                + "add chain netdev " + HOLD_TABLE + " out { type filter hook egress device \"" + DEVICE + "\"" + hook
                + "add rule netdev " + HOLD_TABLE + " out counter drop\n";
        nft("installing the hold", script);
        LOG.info("cell {}: hold on, every frame in or out of {} is dropped", netnsName(), DEVICE);
    }

    /** Lifts the hold. Idempotent. */
    public void release() {
        nft("lifting the hold", "add table netdev " + HOLD_TABLE + "\ndelete table netdev " + HOLD_TABLE + "\n");
        LOG.info("cell {}: hold off", netnsName());
    }

    /**
     * Keeps nft running in the cell until {@link #closeHoldControl()}, so that {@link #hold()} and
     * {@link #release()} start no process: a move opens it before its freeze, where they fall.
     */
    public synchronized void openHoldControl() {
        if (nft == null) {
            nft = NftSession.open(netnsPath(), "cell " + netnsName());
        }
    }

    /** Ends the nft of {@link #openHoldControl()}; it must end before the cell is deleted, or it keeps the namespace. */
    public synchronized void closeHoldControl() {
        if (nft != null) {
            nft.close();
            nft = null;
        }
    }

    private synchronized void nft(String doing, String script) {
        if (nft != null) {
            nft.apply(doing, script);
        } else {
            netns.runWithInput(doing + " (nft)", script, "nft", "-f", "-");
        }
    }

    public boolean isHeld() {
        return netns.tryRun("nft", "list", "table", "netdev", HOLD_TABLE).ok();
    }

    @Override
    public String toString() {
        return netnsName() + " " + vips + " (" + vips.mac() + ")";
    }
}
