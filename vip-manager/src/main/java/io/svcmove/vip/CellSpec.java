package io.svcmove.vip;

import java.net.InetAddress;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * What a cell is made of: the service it holds, the node it is on, its VIPs, the node's interface
 * its macvlan hangs from, and optionally a default gateway (IPv4 or IPv6, on the subnet of the VIP
 * of its family).
 */
public record CellSpec(String service, String node, Vips vips, String parentInterface, Optional<InetAddress> gateway) {

    private static final Pattern SERVICE = Pattern.compile("[a-z][a-z0-9-]{0,31}");
    /** Node names become the first half of netns names {@code <node>.<service>}, so no dots. */
    private static final Pattern NODE = Pattern.compile("[a-z0-9][a-z0-9-]{0,62}");
    private static final Pattern IFNAME = Pattern.compile("[^\\s/:]{1,15}");

    public CellSpec {
        validateService(service);
        validateNode(node);
        Objects.requireNonNull(vips, "vips");
        if (parentInterface == null || !IFNAME.matcher(parentInterface).matches()) {
            throw new CellException("parent interface '" + parentInterface
                    + "' is not a Linux interface name (1-15 characters, no spaces, '/' or ':'); give the node's LAN interface, e.g. eth0");
        }
        gateway = gateway == null ? Optional.empty() : gateway;
        gateway.ifPresent(gw -> {
            if (vips.all().stream().noneMatch(v -> v.subnet().contains(gw))) {
                String subnets = String.join(", ", vips.all().stream().map(v -> v.subnet().toString()).toList());
                throw new CellException("gateway " + Addresses.text(gw) + " is outside the VIP" + (vips.all().size() > 1
                        ? "s' subnets " : "'s subnet ") + subnets + "; give a gateway on that subnet or none");
            }
        });
    }

    public CellSpec(String service, String node, Vips vips, String parentInterface) {
        this(service, node, vips, parentInterface, Optional.empty());
    }

    /** Parses the gateway from text, e.g. from a config file; {@code null} or blank means none. */
    public static Optional<InetAddress> gateway(String text) {
        return text == null || text.isBlank() ? Optional.empty() : Optional.of(Addresses.parse(text.strip(), "gateway"));
    }

    /** The netns that holds this cell: {@code <node>.<service>}. */
    public String netnsName() {
        return node + "." + service;
    }

    static void validateService(String service) {
        if (service == null || !SERVICE.matcher(service).matches()) {
            throw new CellException("service name '" + service
                    + "' is not allowed; use 1-32 characters: a lowercase letter, then lowercase letters, digits or '-'");
        }
    }

    static void validateNode(String node) {
        if (node == null || !NODE.matcher(node).matches()) {
            throw new CellException("node name '" + node
                    + "' is not allowed; use 1-63 lowercase letters, digits or '-' (no dots: cells are named <node>.<service>)");
        }
    }
}
