package io.svcmove.dns;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.TSIG;
import org.xbill.DNS.TSIGRecord;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;
import org.xbill.DNS.Update;
import org.xbill.DNS.ZoneTransferException;
import org.xbill.DNS.ZoneTransferIn;

/**
 * Service names in DNS, by RFC 2136 updates signed with TSIG, sent over TCP to the zone's primary.
 * A name svcmove owns carries, next to its A and AAAA records, a TXT record {@code "svcmove-owner=OWNER"}.
 * Every change has a prerequisite, so a name that something else holds is never overwritten, and
 * every answer must carry a valid signature of our key.
 */
public final class DnsUpdater {
    /** The TXT value that marks a name as svcmove's: this prefix, then the owner. */
    public static final String MARK = "svcmove-owner=";
    private static final Pattern OWNER = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,62}");

    /** What a register call did. */
    public enum Registered { ADDED, UPDATED }

    private final DnsConfig config;
    private final Name zone;
    private final InetSocketAddress server;
    private final TsigKey key;
    private final TSIG tsig;

    public DnsUpdater(DnsConfig config) throws DnsException {
        this.config = config;
        this.zone = config.zoneName();
        this.server = config.serverAddress();
        if (config.keyFile() == null) {
            throw new DnsException(DnsException.Cause.CONFIG, "no TSIG key configured: set 'key_file' in the [dns] section of"
                    + " agent.toml to a BIND key file (tsig-keygen -a hmac-sha256 NAME) the DNS server also has");
        }
        TsigKey fromFile = TsigKey.load(config.keyFile());
        this.key = new TsigKey(config.keyName() != null ? config.keyName() : fromFile.name(),
                config.algorithm() != null ? config.algorithm().toLowerCase() : fromFile.algorithm(), fromFile.secret());
        Name algorithm;
        try {
            algorithm = TSIG.algorithmToName(key.algorithm());
        } catch (IllegalArgumentException e) {
            throw new DnsException(DnsException.Cause.CONFIG, "unknown TSIG algorithm '" + key.algorithm() + "' (key file "
                    + config.keyFile() + "): use hmac-sha256, hmac-sha512, hmac-sha384, hmac-sha224 or hmac-sha1");
        }
        try {
            this.tsig = new TSIG(algorithm, Name.fromString(key.name(), Name.root), key.secret());
        } catch (TextParseException e) {
            throw new DnsException(DnsException.Cause.CONFIG, "the TSIG key name '" + key.name() + "' is not a valid DNS name");
        }
    }

    public Name zone() {
        return zone;
    }

    /**
     * The absolute name for HOST: "web" is web.ZONE; "web.ZONE" (with or without the final dot) is
     * itself. A name outside the zone, or the zone itself, is refused.
     */
    public Name qualify(String host) throws DnsException {
        return qualify(host, zone);
    }

    static Name qualify(String host, Name zone) throws DnsException {
        if (host == null || host.isBlank()) {
            throw new DnsException(DnsException.Cause.CONFIG, "no DNS name given: write a host name such as 'web' or 'web."
                    + zone.toString(true) + "'");
        }
        String h = host.strip();
        Name name;
        try {
            Name asGiven = Name.fromString(h.endsWith(".") ? h : h + ".");
            name = asGiven.subdomain(zone) || h.endsWith(".") ? asGiven : Name.fromString(h, zone);
        } catch (TextParseException e) {
            throw new DnsException(DnsException.Cause.CONFIG, "'" + host + "' is not a valid DNS name: " + e.getMessage());
        }
        if (!name.subdomain(zone)) {
            throw new DnsException(DnsException.Cause.CONFIG, name + " is not in the zone " + zone
                    + " that this node updates: give a name in that zone, or change 'zone' in [dns]");
        }
        if (name.equals(zone)) {
            throw new DnsException(DnsException.Cause.CONFIG, "the zone's own name " + zone + " cannot be a service's name:"
                    + " give a host name in it, e.g. 'web'");
        }
        for (int i = 0; i < name.labels() - zone.labels(); i++) {
            if (!name.getLabelString(i).matches("[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?")) {
                throw new DnsException(DnsException.Cause.CONFIG, "'" + host + "' is not a host name: each label takes letters,"
                        + " digits and inner hyphens only");
            }
        }
        return name;
    }

    /**
     * Points HOST at exactly ADDRESSES for OWNER: one A record per IPv4 and one AAAA per IPv6
     * address. Adds them and our TXT mark when the name is unused; replaces the A and AAAA records
     * (dropping a kind no longer given) when OWNER already holds the name; refuses (NAME_TAKEN)
     * when anything else is there.
     */
    public Registered register(String host, List<InetAddress> addresses, String owner) throws DnsException {
        Name name = qualify(host);
        checkOwner(owner);
        if (addresses.isEmpty()) {
            throw new DnsException(DnsException.Cause.CONFIG, "no address to point " + name + " at: give the service's VIPs"
                    + " (IPv4, IPv6 or both), or remove the name");
        }
        Message r = send(UpdateMessages.add(zone, name, addresses, owner, config.ttl()), "add " + name);
        if (r.getRcode() == Rcode.NOERROR) {
            return Registered.ADDED;
        }
        if (r.getRcode() != Rcode.YXDOMAIN) {
            throw failure(r, "add " + name);
        }
        // The name exists: take it over only when its TXT RRset is exactly our mark.
        r = send(UpdateMessages.replace(zone, name, addresses, owner, config.ttl()), "update " + name);
        if (r.getRcode() == Rcode.NOERROR) {
            return Registered.UPDATED;
        }
        if (r.getRcode() == Rcode.NXRRSET) {
            throw taken(name, owner);
        }
        throw failure(r, "update " + name);
    }

    /**
     * Removes HOST's A, AAAA and TXT records when OWNER holds it. Returns false when the name does
     * not exist; refuses (NAME_TAKEN) when something else holds it, leaving it as it is.
     */
    public boolean remove(String host, String owner) throws DnsException {
        Name name = qualify(host);
        checkOwner(owner);
        Message r = send(UpdateMessages.remove(zone, name, owner), "remove " + name);
        if (r.getRcode() == Rcode.NOERROR) {
            return true;
        }
        if (r.getRcode() != Rcode.NXRRSET) {
            throw failure(r, "remove " + name);
        }
        // Our mark is not there: either the name is gone, or it is someone else's.
        Message q = send(Message.newQuery(Record.newRecord(name, Type.ANY, DClass.IN)), "look up " + name);
        if (q.getRcode() == Rcode.NXDOMAIN) {
            return false;
        }
        if (q.getRcode() != Rcode.NOERROR) {
            throw failure(q, "look up " + name);
        }
        throw taken(name, owner);
    }

    /** Every name of the zone that svcmove owns, read by a zone transfer (AXFR) signed with our key. */
    public List<OwnedRecord> owned() throws DnsException {
        List<Record> records;
        try {
            ZoneTransferIn xfr = ZoneTransferIn.newAXFR(zone, server, tsig);
            xfr.setTimeout(config.timeout());
            xfr.run();
            records = xfr.getAXFR();
        } catch (ZoneTransferException e) {
            throw transferFailure(e);
        } catch (IOException e) {
            throw unreachable("transfer zone " + zone, e);
        } catch (RuntimeException e) {
            // dnsjava itself fails on some malformed answers (found by fuzzing: an empty answer section, IndexOutOfBounds).
            throw new DnsException(DnsException.Cause.BAD_ANSWER, "the zone transfer of " + zone + " from " + server()
                    + " got a malformed answer (" + e + "): check that 'server' in [dns] is the zone's primary", e);
        }
        return ownedIn(records);
    }

    /** Sends a change-free update (only a prerequisite: the zone's SOA exists): proves key, zone and policy. */
    public void check() throws DnsException {
        Update probe = new Update(zone);
        probe.present(zone, Type.SOA);
        Message r = send(probe, "check zone " + zone);
        if (r.getRcode() != Rcode.NOERROR) {
            throw failure(r, "check zone " + zone);
        }
    }

    static List<OwnedRecord> ownedIn(List<Record> records) {
        Map<Name, String> owners = new LinkedHashMap<>();
        Map<Name, List<InetAddress>> addresses = new LinkedHashMap<>();
        for (Record rec : records) {
            if (rec instanceof TXTRecord txt) {
                for (String s : txt.getStrings()) {
                    if (s.startsWith(MARK)) {
                        owners.put(rec.getName(), s.substring(MARK.length()));
                    }
                }
            } else if (rec instanceof ARecord a) {
                addresses.computeIfAbsent(rec.getName(), n -> new ArrayList<>()).add(a.getAddress());
            } else if (rec instanceof AAAARecord aaaa) {
                addresses.computeIfAbsent(rec.getName(), n -> new ArrayList<>()).add(aaaa.getAddress());
            }
        }
        List<OwnedRecord> out = new ArrayList<>();
        owners.forEach((n, o) -> out.add(new OwnedRecord(n.toString(), o, addresses.getOrDefault(n, List.of()))));
        return out;
    }

    private static void checkOwner(String owner) throws DnsException {
        if (owner == null || !OWNER.matcher(owner).matches()) {
            throw new DnsException(DnsException.Cause.CONFIG, "'" + owner + "' cannot name a record's owner: use letters, digits, '.', '_' and '-'");
        }
    }

    private DnsException taken(Name name, String owner) {
        return new DnsException(DnsException.Cause.NAME_TAKEN, name + " already exists in DNS and svcmove's " + owner
                + " does not own it (no TXT \"" + MARK + owner + "\" there): it was left as it is; choose another name,"
                + " or remove that record from the zone if it is stale");
    }

    /** Sends M over TCP, signed, and waits at most the timeout; the answer must carry a valid signature. */
    private Message send(Message m, String what) throws DnsException {
        SimpleResolver resolver = new SimpleResolver(server);
        resolver.setTCP(true);
        resolver.setTimeout(config.timeout());
        resolver.setTSIGKey(tsig);
        Message r;
        try {
            // dnsjava bounds the exchange itself; the extra second only guards against it not doing so.
            r = resolver.sendAsync(m).toCompletableFuture().get(config.timeout().toMillis() + 1000, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw unreachable(what, e);
        } catch (ExecutionException e) {
            throw unreachable(what, e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DnsException(DnsException.Cause.UNREACHABLE, "interrupted while waiting for " + server() + " to " + what);
        }
        verify(r, what);
        return r;
    }

    private void verify(Message r, String what) throws DnsException {
        TSIGRecord t = r.getTSIG();
        if (t != null && t.getError() != Rcode.NOERROR) {
            throw keyRejected(t.getError(), what);
        }
        if (t == null || !r.isSigned()) {
            throw new DnsException(DnsException.Cause.BAD_ANSWER, server() + " answered '" + what + "' without a TSIG signature ("
                    + Rcode.string(r.getRcode()) + "): the answer cannot be trusted; check that the server has key \"" + key.name()
                    + "\" and that nothing between us rewrites DNS");
        }
        if (!r.isVerified()) {
            throw new DnsException(DnsException.Cause.BAD_ANSWER, "the TSIG signature of " + server() + "'s answer to '" + what
                    + "' does not verify with key \"" + key.name() + "\" (" + config.keyFile() + "): the server's key differs"
                    + " from ours, or the answer was altered");
        }
    }

    private DnsException keyRejected(int tsigError, String what) {
        String why = switch (tsigError) {
            case Rcode.BADKEY -> "it does not know the key \"" + key.name() + "\" (" + key.algorithm() + "): check key_name/"
                    + "algorithm and that the server's configuration includes this key";
            case Rcode.BADSIG -> "our signature does not match its copy of key \"" + key.name() + "\": the secret in "
                    + config.keyFile() + " differs from the server's";
            case Rcode.BADTIME -> "the time in our signature is outside its window: set both clocks right (NTP)";
            default -> "TSIG error " + Rcode.TSIGstring(tsigError);
        };
        return new DnsException(DnsException.Cause.KEY_REJECTED, server() + " rejected our TSIG key (" + Rcode.TSIGstring(tsigError)
                + ") for '" + what + "': " + why);
    }

    private DnsException failure(Message r, String what) {
        int rc = r.getRcode();
        return switch (rc) {
            case Rcode.NOTAUTH -> new DnsException(DnsException.Cause.NOT_AUTHORITATIVE, server() + " is not authoritative for zone "
                    + zone + " (NOTAUTH) and cannot " + what + ": set 'zone' in [dns] to a zone that server is primary for,"
                    + " or 'server' to that zone's primary");
            case Rcode.NOTZONE -> new DnsException(DnsException.Cause.NOT_AUTHORITATIVE, server() + " says the name is not in zone "
                    + zone + " (NOTZONE) for '" + what + "': check 'zone' in [dns]");
            case Rcode.REFUSED -> new DnsException(DnsException.Cause.REFUSED, server() + " refused to " + what + " (REFUSED):"
                    + " its policy does not let key \"" + key.name() + "\" update zone " + zone
                    + "; allow it there (BIND: allow-update { key \"" + key.name() + "\"; }; in the zone)");
            default -> new DnsException(DnsException.Cause.SERVER_ERROR, server() + " could not " + what + ": "
                    + Rcode.string(rc) + "; its log says why");
        };
    }

    private DnsException transferFailure(ZoneTransferException e) {
        String msg = String.valueOf(e.getMessage());
        if (msg.contains("NOTAUTH")) {
            return new DnsException(DnsException.Cause.NOT_AUTHORITATIVE, server() + " would not transfer zone " + zone
                    + " (NOTAUTH): it is not authoritative for it, or it rejected our TSIG key \"" + key.name()
                    + "\"; check 'zone', 'server' and the key in [dns]", e);
        }
        if (msg.contains("REFUSED")) {
            return new DnsException(DnsException.Cause.REFUSED, server() + " refused to transfer zone " + zone + " (REFUSED):"
                    + " svcmove lists the names it owns by a zone transfer; allow it for the key (BIND: allow-transfer { key \""
                    + key.name() + "\"; }; in the zone)", e);
        }
        if (msg.toLowerCase().contains("tsig") || msg.contains("BADSIG") || msg.contains("BADKEY")) {
            return new DnsException(DnsException.Cause.BAD_ANSWER, "the zone transfer of " + zone + " from " + server()
                    + " is not correctly signed with key \"" + key.name() + "\" (" + msg + "): check the key in [dns]", e);
        }
        return new DnsException(DnsException.Cause.SERVER_ERROR, "the zone transfer of " + zone + " from " + server()
                + " failed: " + msg, e);
    }

    private DnsException unreachable(String what, Throwable e) {
        String detail = e == null || e instanceof TimeoutException || e.getMessage() == null ? "no answer" : e.getMessage();
        return new DnsException(DnsException.Cause.UNREACHABLE, "cannot " + what + ": DNS server " + server() + " did not answer"
                + " within " + config.timeout().toMillis() + " ms (" + detail + "); check 'server' in [dns], that the server"
                + " runs and that TCP port " + server.getPort() + " is open", e);
    }

    private String server() {
        String host = server.getAddress() == null ? server.getHostString() : server.getAddress().getHostAddress();
        return server.getPort() == 53 ? host : host + ":" + server.getPort();
    }
}
