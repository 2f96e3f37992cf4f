package io.svcmove.vip;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.Locale;

/**
 * A service's virtual IP address with the prefix length of its LAN, e.g. {@code 198.18.0.100/24}
 * or {@code 2001:db8::100/64}. The cell's MAC is derived from it so that the MAC moves with the VIP
 * and clients' ARP and neighbour caches stay valid across a move.
 */
public record Vip(InetAddress address, int prefixLength) {

    public Vip {
        Subnet subnet = Subnet.of(address, prefixLength);
        if (subnet.isReserved(address)) {
            throw new CellException("VIP " + Addresses.text(address) + "/" + prefixLength + " is the "
                    + (subnet.isIpv6() ? "subnet-router anycast address" : "network or broadcast address") + " of " + subnet
                    + "; choose a host address inside it");
        }
        if (address instanceof Inet4Address) {
            int first = address.getAddress()[0] & 0xff;
            if (first == 0 || first == 127 || first >= 224) {
                throw new CellException("VIP " + Addresses.text(address)
                        + " is not a unicast host address (0/8, 127/8, multicast and reserved are not allowed); choose one on the node's LAN");
            }
        } else if (address.isMulticastAddress() || address.isLoopbackAddress() || address.isAnyLocalAddress()
                || address.isLinkLocalAddress()) {
            throw new CellException("VIP " + Addresses.text(address) + " is not a global or unique-local unicast address"
                    + " (::, ::1, fe80::/10 and ff00::/8 are not allowed); choose one in the node's IPv6 prefix");
        }
    }

    /** Parses {@code ADDRESS/LEN}; the prefix length is required because it decides the cell's on-link subnet. */
    public static Vip parse(String text) {
        String t = text == null ? "" : text.strip();
        int slash = t.indexOf('/');
        if (slash < 0) {
            throw new CellException("VIP '" + t + "' has no prefix length; write it as address/prefix, e.g. 198.18.0.100/24"
                    + " or 2001:db8::100/64");
        }
        InetAddress address = Addresses.parse(t.substring(0, slash), "VIP address");
        int max = Subnet.bits(address);
        String len = t.substring(slash + 1);
        if (len.isEmpty() || len.length() > 3 || !len.chars().allMatch(Character::isDigit)) {
            throw new CellException("VIP '" + t + "' has a bad prefix length '" + len + "'; use a number 0-" + max
                    + ", e.g. /" + (max == 32 ? 24 : 64));
        }
        int prefix = Integer.parseInt(len);
        if (prefix > max) {
            throw new CellException("VIP '" + t + "' has prefix length /" + prefix + "; use a number 0-" + max
                    + ", e.g. /" + (max == 32 ? 24 : 64));
        }
        return new Vip(address, prefix);
    }

    public boolean isIpv6() {
        return !(address instanceof Inet4Address);
    }

    /** The address alone, e.g. {@code 198.18.0.100} or {@code 2001:db8::100}. */
    public String addressText() {
        return Addresses.text(address);
    }

    public Subnet subnet() {
        return Subnet.of(address, prefixLength);
    }

    /**
     * Locally administered unicast MAC: {@code 02:5c:} and the four IPv4 address bytes, or
     * {@code 02:5d:} and an IPv6 address's last four: the same on every node, and unique on the LAN
     * as long as the VIPs (IPv6: their last 32 bits) are.
     */
    public String mac() {
        byte[] b = address.getAddress();
        int at = b.length - 4;
        return String.format(Locale.ROOT, "02:%02x:%02x:%02x:%02x:%02x", isIpv6() ? 0x5d : 0x5c,
                b[at] & 0xff, b[at + 1] & 0xff, b[at + 2] & 0xff, b[at + 3] & 0xff);
    }

    @Override
    public String toString() {
        return addressText() + "/" + prefixLength;
    }
}
