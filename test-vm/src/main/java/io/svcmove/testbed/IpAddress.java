package io.svcmove.testbed;

import java.math.BigInteger;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.regex.Pattern;

/** The bed's addresses as numbers, so ranges can be counted through: IPv4 or IPv6 text and back. */
enum IpAddress {
    V4 {
        @Override
        BigInteger parse(String address) {
            String[] parts = address.split("\\.", -1);
            if (parts.length != 4) {
                throw notAn(address);
            }
            long value = 0;
            for (String p : parts) {
                if (!DECIMAL_OCTET.matcher(p).matches() || Integer.parseInt(p) > 255) {
                    throw notAn(address);
                }
                value = value << 8 | Integer.parseInt(p);
            }
            return BigInteger.valueOf(value);
        }

        @Override
        String format(BigInteger address) {
            long a = address.longValueExact();
            return (a >>> 24) + "." + (a >>> 16 & 255) + "." + (a >>> 8 & 255) + "." + (a & 255);
        }
    },
    V6 {
        @Override
        BigInteger parse(String address) {
            // Only what can be a literal reaches InetAddress, which then never asks DNS.
            if (!IPV6_CHARS.matcher(address).matches()) {
                throw notAn(address);
            }
            InetAddress a;
            try {
                a = InetAddress.getByName(address);
            } catch (UnknownHostException e) {
                throw notAn(address);
            }
            if (!(a instanceof Inet6Address)) {
                throw notAn(address); // ::ffff:a.b.c.d comes back as IPv4
            }
            return new BigInteger(1, a.getAddress());
        }

        /** RFC 5952's form, as ip(8) prints it: lower case, the longest run of two or more zero groups as "::". */
        @Override
        String format(BigInteger address) {
            int[] groups = new int[8];
            for (int i = 0; i < 8; i++) {
                groups[i] = address.shiftRight(16 * (7 - i)).intValue() & 0xffff;
            }
            int runStart = -1;
            int runLength = 1;
            for (int i = 0; i < 8; i++) {
                int j = i;
                while (j < 8 && groups[j] == 0) {
                    j++;
                }
                if (j - i > runLength) {
                    runStart = i;
                    runLength = j - i;
                }
            }
            StringBuilder text = new StringBuilder();
            for (int i = 0; i < 8; i++) {
                if (i == runStart) {
                    text.append("::");
                    i += runLength - 1;
                    continue;
                }
                if (!text.isEmpty() && text.charAt(text.length() - 1) != ':') {
                    text.append(':');
                }
                text.append(Integer.toHexString(groups[i]));
            }
            return text.toString();
        }
    };

    private static final Pattern DECIMAL_OCTET = Pattern.compile("[0-9]{1,3}");
    private static final Pattern IPV6_CHARS = Pattern.compile("[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*");

    abstract BigInteger parse(String address);

    abstract String format(BigInteger address);

    /** The family of an address as the bed writes it: IPv6 has colons, IPv4 none. */
    static IpAddress of(String address) {
        return address.indexOf(':') >= 0 ? V6 : V4;
    }

    final IllegalArgumentException notAn(String address) {
        return new IllegalArgumentException("not an " + (this == V4 ? "IPv4" : "IPv6") + " address: " + address);
    }
}
