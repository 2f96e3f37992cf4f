package io.svcmove.arp;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.pcap4j.core.NotOpenException;
import org.pcap4j.core.PcapHandle;
import org.pcap4j.core.PcapNativeException;
import org.pcap4j.core.PcapNetworkInterface;
import org.pcap4j.core.Pcaps;
import org.pcap4j.packet.Packet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Announces a VIP at its new node: sends on the node's own interface (the VIP's MAC as source),
 * the first pair of frames before returning, the repeats in the background. An IPv4 VIP gets a
 * pair of gratuitous ARPs per slot, an IPv6 one an unsolicited neighbour advertisement.
 */
public final class ArpAnnouncer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ArpAnnouncer.class);

    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "arp-announcer");
        t.setDaemon(true);
        return t;
    });

    /** Sends the first pair now; the returned future completes after the last repeat. */
    public CompletableFuture<Void> announce(String iface, Announcement a) throws ArpException {
        PcapHandle handle = open(iface, a);
        CompletableFuture<Void> done = new CompletableFuture<>();
        try {
            sendPair(handle, a);
        } catch (ArpException e) {
            handle.close();
            throw e;
        }
        long ms = a.interval().toMillis();
        for (int i = 1; i <= a.repeats(); i++) {
            boolean last = i == a.repeats();
            timer.schedule(() -> repeat(handle, a, last, done), i * ms, TimeUnit.MILLISECONDS);
        }
        if (a.repeats() == 0) {
            handle.close();
            done.complete(null);
        }
        return done;
    }

    private static void repeat(PcapHandle handle, Announcement a, boolean last, CompletableFuture<Void> done) {
        if (done.isDone()) {
            return;
        }
        try {
            sendPair(handle, a);
            if (last) {
                handle.close();
                done.complete(null);
            }
        } catch (ArpException e) {
            log.warn("{} repeat for {} failed: {}", kind(a), a.vip().getHostAddress(), e.getMessage());
            handle.close();
            done.completeExceptionally(e);
        }
    }

    private static PcapHandle open(String iface, Announcement a) throws ArpException {
        try {
            PcapNetworkInterface nif = Pcaps.getDevByName(iface);
            if (nif == null) {
                throw new ArpException("no interface " + iface + " to announce on");
            }
            return nif.openLive(128, PcapNetworkInterface.PromiscuousMode.NONPROMISCUOUS, 10);
        } catch (PcapNativeException e) {
            throw new ArpException("cannot open " + iface + " to send " + kind(a) + ": " + e.getMessage()
                    + " (root and libpcap are needed)");
        }
    }

    private static void sendPair(PcapHandle h, Announcement a) throws ArpException {
        try {
            for (Packet frame : frames(a)) {
                h.sendPacket(frame);
            }
        } catch (PcapNativeException | NotOpenException e) {
            throw new ArpException("sending " + kind(a) + " for " + a.vip().getHostAddress() + " failed: " + e.getMessage());
        }
    }

    /** The frames of one slot of the burst. */
    static List<Packet> frames(Announcement a) {
        if (a.vip() instanceof Inet6Address v6) {
            return List.of(NeighborAdvertisement.unsolicited(v6, a.mac()));
        }
        Inet4Address v4 = (Inet4Address) a.vip();
        return List.of(GratuitousArp.request(v4, a.mac()), GratuitousArp.reply(v4, a.mac()));
    }

    private static String kind(Announcement a) {
        return a.vip() instanceof Inet6Address ? "unsolicited neighbour advertisement" : "gratuitous ARP";
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
