package io.svcmove.testbed;

import java.util.concurrent.atomic.AtomicInteger;

/** Hands out distinct IPv4 addresses from an inclusive range, each once per run. */
final class VipPool {
    private final int first;
    private final int last;
    private final AtomicInteger handedOut = new AtomicInteger();

    VipPool(String first, String last) {
        this.first = toInt(first);
        this.last = toInt(last);
        if (Integer.compareUnsigned(this.first, this.last) > 0) {
            throw new IllegalArgumentException("VIP range " + first + "-" + last + " is empty");
        }
    }

    String next() {
        int n = handedOut.getAndIncrement();
        if (Integer.toUnsignedLong(last) - Integer.toUnsignedLong(first) < n) {
            throw new IllegalStateException("all " + n + " VIPs of " + toString(first) + "-" + toString(last)
                    + " were handed out in this run; tests must share fewer or the bed's range must grow");
        }
        return toString(first + n);
    }

    static int toInt(String address) {
        String[] parts = address.split("\\.", -1);
        if (parts.length != 4) {
            throw new IllegalArgumentException("not an IPv4 address: " + address);
        }
        int value = 0;
        for (String p : parts) {
            int octet;
            try {
                octet = Integer.parseInt(p);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("not an IPv4 address: " + address, e);
            }
            if (octet < 0 || octet > 255 || p.length() > 3 || p.startsWith("+")) {
                throw new IllegalArgumentException("not an IPv4 address: " + address);
            }
            value = value << 8 | octet;
        }
        return value;
    }

    static String toString(int address) {
        return (address >>> 24) + "." + (address >>> 16 & 255) + "." + (address >>> 8 & 255) + "." + (address & 255);
    }
}
