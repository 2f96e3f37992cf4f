package io.svcmove.migrator.peer;

import java.net.InetAddress;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How many connections of the peer port may be unauthenticated at once (TCP accepted, TLS and the
 * hello not yet done): {@link #PER_ADDRESS} from one remote address and {@link #TOTAL} in all. A
 * flood from one host then fills only its own share, and real peers, from other addresses, still
 * get in. The peers' own addresses ({@link #known}) are held to the per-address limit only, so a
 * flood from many addresses that fills the total still does not lock them out. Refusals are
 * counted and logged at most once per {@link #LOG_EVERY_NANOS}, with how many.
 */
final class HandshakeLimits {
    private static final Logger LOG = LoggerFactory.getLogger(HandshakeLimits.class);
    /** A peer opens one connection at a time; a few spare for reconnects racing old connections. */
    static final int PER_ADDRESS = 16;
    static final int TOTAL = 256;
    static final long LOG_EVERY_NANOS = TimeUnit.SECONDS.toNanos(10);

    private final int perAddress;
    private final int total;
    private final LongSupplier nanoTime;
    private final Map<InetAddress, Integer> open = new HashMap<>();
    private Set<InetAddress> known = Set.of();
    private int openTotal;
    private long refused;
    private long refusedUnlogged;
    private long loggedAt;
    private boolean loggedOnce;

    HandshakeLimits() {
        this(PER_ADDRESS, TOTAL, System::nanoTime);
    }

    HandshakeLimits(int perAddress, int total, LongSupplier nanoTime) {
        this.perAddress = perAddress;
        this.total = total;
        this.nanoTime = nanoTime;
    }

    /** A connection's place in the counts, given back by {@link #release}. */
    record Slot(InetAddress from, boolean inTotal) {}

    /** The addresses the peers connect from (their listening addresses); replaced whole, e.g. on a reload. */
    synchronized void known(Set<InetAddress> addresses) {
        known = Set.copyOf(addresses);
    }

    /** Takes a slot for a new connection from {@code from}, or counts (and maybe logs) its refusal and returns null. */
    synchronized Slot admit(InetAddress from) {
        int mine = open.getOrDefault(from, 0);
        boolean peer = known.contains(from);
        if (mine < perAddress && (peer || openTotal < total)) {
            open.put(from, mine + 1);
            if (!peer) {
                openTotal++;
            }
            return new Slot(from, !peer);
        }
        refused++;
        refusedUnlogged++;
        long now = nanoTime.getAsLong();
        if (!loggedOnce || now - loggedAt >= LOG_EVERY_NANOS) {
            String why = mine >= perAddress ? perAddress + " from " + from.getHostAddress() + " are" : total + " in all are";
            LOG.warn("refused {} connection(s) to the peer port since the last such message: {} still in their TLS handshake"
                    + " ({} refused since start; the limits are {} per address and {} in all)", refusedUnlogged, why, refused,
                    perAddress, total);
            refusedUnlogged = 0;
            loggedAt = now;
            loggedOnce = true;
        }
        return null;
    }

    /** Gives back the slot {@link #admit} took: the connection authenticated or closed. */
    synchronized void release(Slot slot) {
        Integer mine = open.get(slot.from());
        if (mine == null) {
            throw new IllegalStateException("no unauthenticated connection from " + slot.from() + " to release");
        }
        if (mine == 1) {
            open.remove(slot.from());
        } else {
            open.put(slot.from(), mine - 1);
        }
        if (slot.inTotal()) {
            openTotal--;
        }
    }

    synchronized long refused() {
        return refused;
    }

    /** Unauthenticated connections counted in the total (those from the known addresses are not). */
    synchronized int unauthenticated() {
        return openTotal;
    }
}
