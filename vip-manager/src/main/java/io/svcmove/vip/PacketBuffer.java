package io.svcmove.vip;

import java.util.ArrayList;
import java.util.List;
import org.pcap4j.core.BpfProgram;
import org.pcap4j.core.NotOpenException;
import org.pcap4j.core.PcapHandle;
import org.pcap4j.core.PcapNativeException;
import org.pcap4j.core.PcapNetworkInterface;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a frozen service's clients send while it moves. From the freeze on, the source captures on
 * its own LAN interface every frame addressed to the VIP's MAC (they still reach this node: the
 * switch learns the VIP's new port only from the destination's announcement), keeps the IPv4 and
 * IPv6 packets in arrival order, up to a byte limit (what does not fit is counted as dropped: the client
 * retransmits it, as it does a frame the kernel dropped because the capture fell behind: both are
 * counted as dropped), and hands them over for injection on the destination. The capture is on the
 * node's interface, below the cell, so the cell's hold does not hide anything from it.
 */
public final class PacketBuffer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(PacketBuffer.class);
    private static final int ETHERNET_HEADER = 14;
    private static final int ETHERTYPE_IPV4 = 0x0800;
    private static final int ETHERTYPE_IPV6 = 0x86dd;

    /** What the buffer saw: packets kept (IPv4 or IPv6, without the Ethernet header) and what did not fit. */
    public record Contents(List<byte[]> packets, long bytes, long dropped) {}

    private final PcapHandle handle;
    private final long limitBytes;
    private final Thread reader;
    private final List<byte[]> packets = new ArrayList<>();
    private long bytes;
    private long dropped;
    private volatile boolean stopping;
    /** Frames are kept only once armed: opening the capture (slow) happens before the freeze, arming at it. */
    private volatile boolean armed;

    private PacketBuffer(PcapHandle handle, long limitBytes, String what) {
        this.handle = handle;
        this.limitBytes = limitBytes;
        this.reader = new Thread(this::readLoop, "packet-buffer " + what);
        this.reader.setDaemon(true);
    }

    /**
     * Opens the capture of frames to {@code mac} on {@code iface} (of this JVM's network namespace);
     * nothing is kept until {@link #arm()}.
     */
    public static PacketBuffer open(String iface, String mac, long limitBytes) {
        PcapHandle h;
        try {
            // Immediate mode: each frame is handed over at once, so that stop() loses nothing in libpcap's buffer.
            h = new PcapHandle.Builder(iface).snaplen(65_535).promiscuousMode(PcapNetworkInterface.PromiscuousMode.PROMISCUOUS)
                    .timeoutMillis(5).immediateMode(true).bufferSize(4 << 20).build();
        } catch (PcapNativeException e) {
            throw new CellException("cannot capture on " + iface + " to buffer the frames of " + mac + ": " + e.getMessage()
                    + " (root and libpcap are needed)");
        }
        try {
            h.setFilter("ether dst " + mac, BpfProgram.BpfCompileMode.OPTIMIZE);
        } catch (PcapNativeException | NotOpenException e) {
            h.close();
            throw new CellException("cannot filter the capture on " + iface + " to " + mac + ": " + e.getMessage());
        }
        PacketBuffer b = new PacketBuffer(h, limitBytes, mac);
        b.reader.start();
        LOG.info("capture of frames to {} on {} open (at most {} bytes will be kept)", mac, iface, limitBytes);
        return b;
    }

    /**
     * From now on every frame is kept. Arm before the hold: a frame between the two reaches the
     * service and the buffer both, and TCP drops the duplicate; after the hold, only the buffer.
     */
    public void arm() {
        armed = true;
    }

    private void readLoop() {
        try {
            handle.loop(-1, (byte[] frame) -> keep(frame));
        } catch (InterruptedException e) {
            // breakLoop() from stop(): the end of the capture.
        } catch (PcapNativeException | NotOpenException e) {
            if (!stopping) {
                LOG.warn("the packet buffer stopped reading: {}", e.getMessage());
            }
        }
    }

    private synchronized void keep(byte[] frame) {
        if (!armed || frame.length <= ETHERNET_HEADER) {
            return;
        }
        int type = (frame[12] & 0xff) << 8 | (frame[13] & 0xff);
        if (type != ETHERTYPE_IPV4 && type != ETHERTYPE_IPV6) {
            return;
        }
        int len = frame.length - ETHERNET_HEADER;
        if (bytes + len > limitBytes) {
            dropped++;
            PacketCounts.countDropped();
            return;
        }
        byte[] ip = new byte[len];
        System.arraycopy(frame, ETHERNET_HEADER, ip, 0, len);
        packets.add(ip);
        bytes += len;
        PacketCounts.countBuffered(len);
    }

    /**
     * Hands over the oldest packets kept so far, at most {@code maxBytes} of them, to be injected as
     * soon as the service runs again; the capture goes on, and {@link #stop()} returns the others and
     * what comes after (its counts are of all).
     */
    public synchronized List<byte[]> take(long maxBytes) {
        int n = 0;
        for (long sum = 0; n < packets.size() && sum + packets.get(n).length <= maxBytes; n++) {
            sum += packets.get(n).length;
        }
        List<byte[]> head = packets.subList(0, n);
        List<byte[]> out = List.copyOf(head);
        head.clear();
        return out;
    }

    /** Stops capturing and returns what was kept (what {@link #take} did not hand over). */
    public Contents stop() {
        stopping = true;
        long lost = captureDrops();
        try {
            // libpcap (>= 1.10 on Linux) wakes a capture blocked in poll when the loop is broken.
            handle.breakLoop();
            reader.join(2000);
        } catch (NotOpenException e) {
            // Already closed: nothing is reading.
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (!reader.isAlive()) {
            handle.close();
        } else {
            LOG.warn("the packet buffer's reader did not stop; its capture handle is left to the reader");
        }
        synchronized (this) {
            if (lost > 0) {
                LOG.warn("the capture fell behind: the kernel dropped {} frames before this buffer saw them", lost);
            }
            dropped += lost;
            LOG.info("buffer closed: {} packets, {} bytes kept, {} dropped", packets.size(), bytes, dropped);
            return new Contents(List.copyOf(packets), bytes, dropped);
        }
    }

    /** Frames the kernel dropped for want of room in the capture's ring (libpcap's ps_drop); 0 when it cannot tell. */
    private long captureDrops() {
        try {
            return handle.getStats().getNumPacketsDropped();
        } catch (PcapNativeException | NotOpenException e) {
            return 0;
        }
    }

    /** Stops capturing and forgets what was kept (a move rolled back: the source answers again itself). */
    @Override
    public void close() {
        if (!stopping) {
            stop();
        }
    }
}
