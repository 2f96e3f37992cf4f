package io.svcmove.dns;

import java.util.List;

/** A name in the zone that svcmove owns: its TXT record names the owner, its A records the addresses. */
public record OwnedRecord(String name, String owner, List<String> addresses) {
    public OwnedRecord {
        addresses = List.copyOf(addresses);
    }
}
