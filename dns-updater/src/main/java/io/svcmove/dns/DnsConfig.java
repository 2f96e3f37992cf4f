package io.svcmove.dns;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.xbill.DNS.Name;
import org.xbill.DNS.TextParseException;

/**
 * Where and how svcmove updates DNS: the zone's primary server, the zone, the TSIG key (BIND key
 * file; its name and algorithm come from the file unless given here), the records' TTL and how long
 * to wait for the server.
 */
public record DnsConfig(String server, String zone, Path keyFile, String keyName, String algorithm, long ttl, Duration timeout) {
    public static final long DEFAULT_TTL = 60;
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(5);
    private static final Pattern DURATION = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*(ms|s|m)?");

    public DnsConfig {
        ttl = ttl <= 0 ? DEFAULT_TTL : ttl;
        timeout = timeout == null || timeout.isZero() || timeout.isNegative() ? DEFAULT_TIMEOUT : timeout;
    }

    /** The server as ADDRESS or ADDRESS:PORT (port 53 by default); IPv6 as [ADDR]:PORT. */
    public InetSocketAddress serverAddress() throws DnsException {
        if (server == null || server.isBlank()) {
            throw new DnsException(DnsException.Cause.CONFIG, "no DNS server configured: set 'server' in the [dns] section of"
                    + " agent.toml to the zone's primary, e.g. server = \"198.18.0.2\"");
        }
        String host = server.strip();
        int port = 53;
        int colon = host.lastIndexOf(':');
        if (host.startsWith("[") && host.contains("]")) {
            int close = host.indexOf(']');
            if (close + 1 < host.length() && host.charAt(close + 1) == ':') {
                port = port(host.substring(close + 2));
            }
            host = host.substring(1, close);
        } else if (colon > 0 && host.indexOf(':') == colon) {
            port = port(host.substring(colon + 1));
            host = host.substring(0, colon);
        }
        return new InetSocketAddress(host, port);
    }

    /** The zone as an absolute DNS name. */
    public Name zoneName() throws DnsException {
        if (zone == null || zone.isBlank()) {
            throw new DnsException(DnsException.Cause.CONFIG, "no DNS zone configured: set 'zone' in the [dns] section of"
                    + " agent.toml, e.g. zone = \"svcmove.test.\"");
        }
        try {
            return Name.fromString(zone.strip(), Name.root);
        } catch (TextParseException e) {
            throw new DnsException(DnsException.Cause.CONFIG, "the DNS zone '" + zone + "' is not a valid name: " + e.getMessage());
        }
    }

    /** Parses "5s", "500ms", "1m" or a plain number of seconds. */
    public static Duration parseDuration(String text) {
        if (text == null || text.isBlank()) {
            return null;
        }
        Matcher m = DURATION.matcher(text.strip());
        if (!m.matches()) {
            throw new IllegalArgumentException("'" + text + "' is not a duration: write e.g. \"5s\", \"500ms\" or 5");
        }
        double v = Double.parseDouble(m.group(1));
        String unit = m.group(2) == null ? "s" : m.group(2);
        long ms = Math.round(v * switch (unit) {
            case "ms" -> 1;
            case "m" -> 60_000;
            default -> 1000;
        });
        return Duration.ofMillis(ms);
    }

    private int port(String text) throws DnsException {
        try {
            int p = Integer.parseInt(text);
            if (p > 0 && p < 65536) {
                return p;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new DnsException(DnsException.Cause.CONFIG, "the DNS server '" + server + "' has no valid port: write ADDRESS or ADDRESS:PORT");
    }
}
