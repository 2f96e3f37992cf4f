package io.svcmove.testbed;

import java.math.BigInteger;
import java.util.concurrent.atomic.AtomicLong;

/** Hands out distinct addresses (IPv4 or IPv6, as the range is written) from an inclusive range, each once per run. */
final class VipPool {
    private final IpAddress family;
    private final BigInteger first;
    private final BigInteger last;
    private final String range;
    private final AtomicLong handedOut = new AtomicLong();

    VipPool(String first, String last) {
        this.family = IpAddress.of(first);
        if (IpAddress.of(last) != family) {
            throw new IllegalArgumentException("VIP range " + first + "-" + last + " mixes IPv4 and IPv6");
        }
        this.first = family.parse(first);
        this.last = family.parse(last);
        this.range = family.format(this.first) + "-" + family.format(this.last);
        if (this.first.compareTo(this.last) > 0) {
            throw new IllegalArgumentException("VIP range " + first + "-" + last + " is empty");
        }
    }

    String next() {
        long n = handedOut.getAndIncrement();
        BigInteger vip = first.add(BigInteger.valueOf(n));
        if (vip.compareTo(last) > 0) {
            throw new IllegalStateException("all " + n + " VIPs of " + range
                    + " were handed out in this run; tests must share fewer or the bed's range must grow");
        }
        return family.format(vip);
    }
}
