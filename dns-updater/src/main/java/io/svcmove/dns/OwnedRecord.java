package io.svcmove.dns;

import java.net.InetAddress;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * A name in the zone that svcmove owns: its TXT record names the owner, its A and AAAA records the
 * addresses. Addresses, not their text: an IPv6 address has more than one spelling. They are kept
 * IPv4 first, each kind in numeric order, so two records of the same addresses are equal.
 */
public record OwnedRecord(String name, String owner, List<InetAddress> addresses) {
    private static final Comparator<InetAddress> ORDER = Comparator.<InetAddress>comparingInt(a -> a.getAddress().length)
            .thenComparing(InetAddress::getAddress, Arrays::compareUnsigned);

    public OwnedRecord {
        addresses = addresses.stream().sorted(ORDER).toList();
    }
}
