package io.svcmove.vip;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;

/** An IPv4 network: the address with its host bits cleared, and the prefix length. */
public record Subnet(Inet4Address network, int prefixLength) {

    public Subnet {
        if (prefixLength < 0 || prefixLength > 32) {
            throw new CellException("prefix length /" + prefixLength + " is out of range; use /0 to /32");
        }
        if (toInt(network) != (toInt(network) & mask(prefixLength))) {
            throw new CellException(network.getHostAddress() + "/" + prefixLength
                    + " has host bits set; the network is " + of(network, prefixLength));
        }
    }

    /** The subnet that {@code address/prefixLength} lies in. */
    public static Subnet of(Inet4Address address, int prefixLength) {
        if (prefixLength < 0 || prefixLength > 32) {
            throw new CellException("prefix length /" + prefixLength + " is out of range; use /0 to /32");
        }
        return new Subnet(fromInt(toInt(address) & mask(prefixLength)), prefixLength);
    }

    public boolean contains(Inet4Address address) {
        return (toInt(address) & mask(prefixLength)) == toInt(network);
    }

    /** True for the network and broadcast addresses, which no host may use (except on /31 and /32). */
    public boolean isReserved(Inet4Address address) {
        if (prefixLength >= 31) {
            return false;
        }
        int a = toInt(address);
        return a == toInt(network) || a == (toInt(network) | ~mask(prefixLength));
    }

    @Override
    public String toString() {
        return network.getHostAddress() + "/" + prefixLength;
    }

    static int mask(int prefixLength) {
        return prefixLength == 0 ? 0 : -1 << (32 - prefixLength);
    }

    static int toInt(Inet4Address address) {
        byte[] b = address.getAddress();
        return (b[0] & 0xff) << 24 | (b[1] & 0xff) << 16 | (b[2] & 0xff) << 8 | (b[3] & 0xff);
    }

    static Inet4Address fromInt(int a) {
        try {
            return (Inet4Address) InetAddress.getByAddress(
                    new byte[] {(byte) (a >>> 24), (byte) (a >>> 16), (byte) (a >>> 8), (byte) a});
        } catch (UnknownHostException e) {
            throw new AssertionError("four bytes are always an IPv4 address", e);
        }
    }

    /** Parses a dotted quad without ever consulting DNS. */
    static Inet4Address parseAddress(String text, String what) {
        String[] parts = text.split("\\.", -1);
        if (parts.length != 4) {
            throw new CellException(what + " '" + text + "' is not an IPv4 address; write it as four numbers, e.g. 198.18.0.100");
        }
        int a = 0;
        for (String p : parts) {
            if (p.isEmpty() || p.length() > 3 || !p.chars().allMatch(Character::isDigit)) {
                throw new CellException(what + " '" + text + "' is not an IPv4 address; each of its four parts must be a number 0-255");
            }
            int v = Integer.parseInt(p);
            if (v > 255) {
                throw new CellException(what + " '" + text + "' is not an IPv4 address: " + v + " is above 255");
            }
            a = a << 8 | v;
        }
        return fromInt(a);
    }
}
