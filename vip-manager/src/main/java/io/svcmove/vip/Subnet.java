package io.svcmove.vip;

import java.net.Inet4Address;
import java.net.InetAddress;

/** An IPv4 or IPv6 network: the address with its host bits cleared, and the prefix length. */
public record Subnet(InetAddress network, int prefixLength) {

    public Subnet {
        checkLength(network, prefixLength);
        if (!network.equals(masked(network, prefixLength))) {
            throw new CellException(Addresses.text(network) + "/" + prefixLength
                    + " has host bits set; the network is " + of(network, prefixLength));
        }
    }

    /** The subnet that {@code address/prefixLength} lies in. */
    public static Subnet of(InetAddress address, int prefixLength) {
        checkLength(address, prefixLength);
        return new Subnet(masked(address, prefixLength), prefixLength);
    }

    /** 32 for IPv4, 128 for IPv6. */
    static int bits(InetAddress address) {
        return address.getAddress().length * 8;
    }

    private static void checkLength(InetAddress address, int prefixLength) {
        int max = bits(address);
        if (prefixLength < 0 || prefixLength > max) {
            throw new CellException("prefix length /" + prefixLength + " is out of range; use /0 to /" + max);
        }
    }

    public boolean contains(InetAddress address) {
        return address.getClass() == network.getClass() && masked(address, prefixLength).equals(network);
    }

    public boolean isIpv6() {
        return !(network instanceof Inet4Address);
    }

    /**
     * True for addresses no host may take: IPv4's network and broadcast addresses (except on /31 and
     * /32), IPv6's subnet-router anycast address (all host bits zero; except on /127 and /128).
     */
    public boolean isReserved(InetAddress address) {
        if (prefixLength >= bits(network) - 1) {
            return false;
        }
        if (address.equals(network)) {
            return true;
        }
        if (isIpv6()) {
            return false;
        }
        byte[] a = address.getAddress();
        for (int i = 0; i < a.length; i++) {
            if (((a[i] & 0xff) | mask(i)) != 0xff) {
                return false;
            }
        }
        return contains(address);
    }

    @Override
    public String toString() {
        return Addresses.text(network) + "/" + prefixLength;
    }

    /** The network byte I's mask, as an int 0..255. */
    private int mask(int i) {
        return byteMask(prefixLength, i);
    }

    private static int byteMask(int prefixLength, int i) {
        int bitsHere = Math.max(0, Math.min(8, prefixLength - 8 * i));
        return (0xff << (8 - bitsHere)) & 0xff;
    }

    private static InetAddress masked(InetAddress address, int prefixLength) {
        byte[] b = address.getAddress();
        for (int i = 0; i < b.length; i++) {
            b[i] &= (byte) byteMask(prefixLength, i);
        }
        return Addresses.fromBytes(b);
    }
}
