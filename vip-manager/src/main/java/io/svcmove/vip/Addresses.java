package io.svcmove.vip;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Locale;

/** IP addresses as operators write them: parsed without ever consulting DNS, printed in their short form. */
public final class Addresses {
    private Addresses() {}

    /** Parses a dotted quad or an IPv6 literal; WHAT names the value in the error. */
    public static InetAddress parse(String text, String what) {
        return text.indexOf(':') >= 0 ? parseIpv6(text, what) : parseIpv4(text, what);
    }

    static Inet4Address parseIpv4(String text, String what) {
        String[] parts = text.split("\\.", -1);
        String hint = "; write it as four numbers, e.g. 198.18.0.100, or as an IPv6 address, e.g. 2001:db8::100";
        if (parts.length != 4) {
            throw new CellException(what + " '" + text + "' is not an IPv4 address" + hint);
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
        return (Inet4Address) fromBytes(new byte[] {(byte) (a >>> 24), (byte) (a >>> 16), (byte) (a >>> 8), (byte) a});
    }

    /** Hex digits, colons and an optional dotted tail only: so that InetAddress never takes it for a host name. */
    static Inet6Address parseIpv6(String text, String what) {
        String hint = "; write it as eight groups of hex digits, '::' for a run of zero groups, e.g. 2001:db8::100";
        if (!text.matches("[0-9A-Fa-f:.]{2,45}")) {
            throw new CellException(what + " '" + text + "' is not an IPv6 address (no zone, brackets or names)" + hint);
        }
        InetAddress a;
        try {
            a = InetAddress.getByName(text);
        } catch (UnknownHostException e) {
            throw new CellException(what + " '" + text + "' is not an IPv6 address" + hint);
        }
        if (!(a instanceof Inet6Address v6)) {
            throw new CellException(what + " '" + text + "' is an IPv4-mapped IPv6 address; write the IPv4 address itself, "
                    + a.getHostAddress());
        }
        return v6;
    }

    static InetAddress fromBytes(byte[] b) {
        try {
            return InetAddress.getByAddress(b);
        } catch (UnknownHostException e) {
            throw new AssertionError("4 or 16 bytes are always an address", e);
        }
    }

    /** The address as written back to operators: a dotted quad, or IPv6 in its RFC 5952 short form. */
    public static String text(InetAddress address) {
        if (address instanceof Inet4Address) {
            return address.getHostAddress();
        }
        byte[] b = address.getAddress();
        int[] groups = new int[8];
        for (int i = 0; i < 8; i++) {
            groups[i] = (b[2 * i] & 0xff) << 8 | (b[2 * i + 1] & 0xff);
        }
        // The longest run of two or more zero groups (the first of equal ones) becomes "::".
        int bestAt = -1;
        int bestLen = 1;
        for (int i = 0; i < 8; ) {
            int j = i;
            while (j < 8 && groups[j] == 0) {
                j++;
            }
            if (j - i > bestLen) {
                bestAt = i;
                bestLen = j - i;
            }
            i = j == i ? i + 1 : j;
        }
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            if (i == bestAt) {
                s.append("::");
                i += bestLen - 1;
                continue;
            }
            if (s.length() > 0 && s.charAt(s.length() - 1) != ':') {
                s.append(':');
            }
            s.append(Integer.toHexString(groups[i]));
        }
        return s.toString().toLowerCase(Locale.ROOT);
    }
}
