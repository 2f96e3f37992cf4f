package io.svcmove.vip;

import java.net.Inet4Address;
import java.util.Locale;

/**
 * A service's virtual IP address with the prefix length of its LAN, e.g. {@code 198.18.0.100/24}.
 * The cell's MAC is derived from it so that the MAC moves with the VIP and clients' ARP caches
 * stay valid across a move.
 */
public record Vip(Inet4Address address, int prefixLength) {

    public Vip {
        Subnet subnet = Subnet.of(address, prefixLength);
        if (subnet.isReserved(address)) {
            throw new CellException("VIP " + address.getHostAddress() + "/" + prefixLength
                    + " is the network or broadcast address of " + subnet + "; choose a host address inside it");
        }
        int first = address.getAddress()[0] & 0xff;
        if (first == 0 || first == 127 || first >= 224) {
            throw new CellException("VIP " + address.getHostAddress()
                    + " is not a unicast host address (0/8, 127/8, multicast and reserved are not allowed); choose one on the node's LAN");
        }
    }

    /** Parses {@code a.b.c.d/len}; the prefix length is required because it decides the cell's on-link subnet. */
    public static Vip parse(String text) {
        String t = text == null ? "" : text.strip();
        int slash = t.indexOf('/');
        if (slash < 0) {
            throw new CellException("VIP '" + t + "' has no prefix length; write it as address/prefix, e.g. 198.18.0.100/24");
        }
        String len = t.substring(slash + 1);
        if (len.isEmpty() || len.length() > 2 || !len.chars().allMatch(Character::isDigit)) {
            throw new CellException("VIP '" + t + "' has a bad prefix length '" + len + "'; use a number 0-32, e.g. /24");
        }
        int prefix = Integer.parseInt(len);
        if (prefix > 32) {
            throw new CellException("VIP '" + t + "' has prefix length /" + prefix + "; use a number 0-32, e.g. /24");
        }
        return new Vip(Subnet.parseAddress(t.substring(0, slash), "VIP address"), prefix);
    }

    /** The address alone, e.g. {@code 198.18.0.100}. */
    public String addressText() {
        return address.getHostAddress();
    }

    public Subnet subnet() {
        return Subnet.of(address, prefixLength);
    }

    /**
     * Locally administered unicast MAC {@code 02:5c:} followed by the four address bytes: the same
     * on every node, and unique on the LAN as long as the VIP is.
     */
    public String mac() {
        byte[] b = address.getAddress();
        return String.format(Locale.ROOT, "02:5c:%02x:%02x:%02x:%02x", b[0] & 0xff, b[1] & 0xff, b[2] & 0xff, b[3] & 0xff);
    }

    @Override
    public String toString() {
        return addressText() + "/" + prefixLength;
    }
}
