package io.svcmove.dns;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.List;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.Type;
import org.xbill.DNS.Update;

/**
 * The RFC 2136 updates behind {@link DnsUpdater}, built apart from sending so that tests can read
 * them. Each is one message, so the server applies all of it or none; each has a prerequisite that
 * keeps it off names another owner holds.
 */
final class UpdateMessages {
    private UpdateMessages() {}

    /** Claims an unused NAME: only when nothing is there, adds one A or AAAA per address and our mark. */
    static Update add(Name zone, Name name, List<InetAddress> addresses, String owner, long ttl) {
        Update m = new Update(zone);
        m.absent(name);
        addresses.forEach(a -> m.add(address(name, a, ttl)));
        m.add(mark(name, owner, ttl));
        return m;
    }

    /**
     * Points a NAME that OWNER holds at exactly ADDRESSES: only when its TXT RRset is exactly our
     * mark, replaces both address RRsets, so a kind of address no longer given disappears.
     */
    static Update replace(Name zone, Name name, List<InetAddress> addresses, String owner, long ttl) {
        Update m = new Update(zone);
        m.present(mark(name, owner, 0));
        m.delete(name, Type.A);
        m.delete(name, Type.AAAA);
        addresses.forEach(a -> m.add(address(name, a, ttl)));
        return m;
    }

    /** Removes the addresses and the mark of a NAME that OWNER holds (and nothing else there). */
    static Update remove(Name zone, Name name, String owner) {
        Update m = new Update(zone);
        m.present(mark(name, owner, 0));
        m.delete(name, Type.A);
        m.delete(name, Type.AAAA);
        m.delete(name, Type.TXT);
        return m;
    }

    private static Record address(Name name, InetAddress a, long ttl) {
        return a instanceof Inet4Address ? new ARecord(name, DClass.IN, ttl, a) : new AAAARecord(name, DClass.IN, ttl, a);
    }

    /** Our TXT record; as a prerequisite its TTL must be 0 (RFC 2136, 2.4.2). */
    private static TXTRecord mark(Name name, String owner, long ttl) {
        return new TXTRecord(name, DClass.IN, ttl, DnsUpdater.MARK + owner);
    }
}
