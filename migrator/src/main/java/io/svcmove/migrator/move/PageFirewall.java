package io.svcmove.migrator.move;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The firewall rule for a move's page server: of all addresses only the other node's reaches its
 * port, for the move's life (a lazy move's page server on the source, a streamed move's on the
 * destination). CRIU's page server takes one connection
 * and ends when its TLS handshake fails, so a certificate check alone would let any other node end
 * the transfer; dropped before TCP, another node neither reads the pages nor stops them. The rule
 * is an nftables table of this node named after the move (so a recovery finds it by the move's
 * id), and it counts the connection attempts it refused, for the log.
 */
final class PageFirewall {
    private static final Logger log = LoggerFactory.getLogger(PageFirewall.class);
    private static final long NFT_TIMEOUT_S = 10;
    private static final Pattern TABLE = Pattern.compile("table inet (svcmove_pages_\\w+)");
    private static final Pattern PACKETS = Pattern.compile("counter packets (\\d+)");

    private PageFirewall() {}

    /** The table of move {@code moveId}: nft names are letters, digits and underscores. */
    static String table(String moveId) {
        return "svcmove_pages_" + moveId.replaceAll("[^A-Za-z0-9_]", "_");
    }

    /** The nft script that opens {@code port} to {@code destination} only. */
    static String openScript(String moveId, int port, InetAddress destination) {
        if (!(destination instanceof Inet4Address)) {
            throw new IllegalArgumentException("the page server's firewall takes an IPv4 destination, not " + destination);
        }
        String t = table(moveId);
        String other = "tcp dport " + port + " ip saddr != " + destination.getHostAddress();
        // Accepting here would not override another table's drop, so the priority only puts this first.
        return "add table inet " + t + "\n"
                + "add chain inet " + t + " input { type filter hook input priority -200; policy accept; }\n"
                + "add rule inet " + t + " input " + other + " tcp flags & (syn | ack) == syn counter drop\n"
                + "add rule inet " + t + " input " + other + " drop\n"
                + "add rule inet " + t + " input meta nfproto ipv6 tcp dport " + port + " drop\n";
    }

    /** Opens {@code port} of this node to {@code destination} only, for move {@code moveId}. */
    static void open(String moveId, int port, InetAddress destination) throws IOException {
        nft(List.of("nft", "-f", "-"), openScript(moveId, port, destination), "open the page server to " + destination.getHostAddress()
                + " only");
    }

    /**
     * Removes the rule of move {@code moveId}, if there is one, and returns how many connection
     * attempts it refused (0 without a rule).
     */
    static long close(String moveId) throws IOException {
        String t = table(moveId);
        String listing;
        try {
            listing = nft(List.of("nft", "list", "table", "inet", t), "", "read the page server's firewall");
        } catch (IOException e) {
            if (e.getMessage().contains("No such file or directory")) {
                return 0;
            }
            throw e;
        }
        nft(List.of("nft", "delete", "table", "inet", t), "", "remove the page server's firewall");
        return refused(listing);
    }

    /**
     * As {@link #close}, logging instead of throwing: the rule's refusals, from addresses other
     * than {@code peer}'s, as a warning; a rule that cannot be removed only drops packets to a port
     * nothing listens on any more.
     */
    static void closeLogged(String moveId, String peer) {
        try {
            long refused = close(moveId);
            if (refused > 0) {
                log.warn("move {}: the page server refused {} connection attempts from addresses other than {}'s", moveId, refused, peer);
            }
        } catch (IOException e) {
            log.warn("move {}: {}; it only drops packets to a port nothing listens on now (remove it: nft delete table inet {})", moveId,
                    e.getMessage(), table(moveId));
        }
    }

    /** The tables of this kind whose name ends with {@code suffix}, as in {@code nft list tables}. */
    static List<String> tables(String suffix) throws IOException {
        return tablesIn(nft(List.of("nft", "list", "tables"), "", "list the firewall's tables"), suffix);
    }

    static List<String> tablesIn(String listing, String suffix) {
        return TABLE.matcher(listing).results().map(m -> m.group(1)).filter(t -> t.endsWith(suffix)).toList();
    }

    /** Removes a table {@link #tables} listed. */
    static void delete(String table) throws IOException {
        nft(List.of("nft", "delete", "table", "inet", table), "", "remove " + table);
    }

    /** The refused attempts in a listing of the table: its SYN rule's counter. */
    static long refused(String listing) {
        Matcher m = PACKETS.matcher(listing);
        return m.find() ? Long.parseLong(m.group(1)) : 0;
    }

    private static String nft(List<String> command, String input, String doing) throws IOException {
        Process p;
        try {
            p = new ProcessBuilder(command).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new IOException("cannot " + doing + ": " + e.getMessage() + " (is nftables installed?)", e);
        }
        try (var in = p.getOutputStream()) {
            in.write(input.getBytes(StandardCharsets.UTF_8));
        }
        try {
            // The output is a few lines: it fits the pipe, so nft ends without being read.
            if (!p.waitFor(NFT_TIMEOUT_S, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException("cannot " + doing + ": nft did not finish within " + NFT_TIMEOUT_S + " s");
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("cannot " + doing + ": interrupted", e);
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.exitValue() != 0) {
            throw new IOException("cannot " + doing + ": nft said: " + out.strip());
        }
        return out;
    }
}
