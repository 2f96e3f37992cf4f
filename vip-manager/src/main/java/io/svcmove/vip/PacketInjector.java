package io.svcmove.vip;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Delivers buffered packets to a cell's own stack. A raw IPv4 socket (IPPROTO_RAW) opened inside
 * the cell's network namespace and sending to the VIP hands each packet to the local TCP stack,
 * as if it had just arrived; sending the frames on the NIC instead would put them on the wire.
 * The socket is made on a thread of its own that enters the cell's namespace (setns changes only
 * the calling thread) and ends afterwards, so no pooled thread is left in a cell.
 */
public final class PacketInjector {
    private static final int AF_INET = 2;
    private static final int SOCK_RAW = 3;
    private static final int IPPROTO_RAW = 255;
    private static final int CLONE_NEWNET = 0x40000000;
    private static final int O_RDONLY = 0;
    private static final int O_CLOEXEC = 0x80000;

    interface C extends Library {
        C INSTANCE = Native.load("c", C.class);

        int open(String path, int flags) throws LastErrorException;

        int setns(int fd, int nstype) throws LastErrorException;

        int socket(int domain, int type, int protocol) throws LastErrorException;

        int sendto(int fd, byte[] buf, int len, int flags, byte[] addr, int addrlen) throws LastErrorException;

        int close(int fd) throws LastErrorException;
    }

    private PacketInjector() {}

    /** Injects {@code packets} (IPv4, in order) into {@code cell}; returns how many the kernel took. */
    public static int inject(Cell cell, List<byte[]> packets) {
        if (packets.isEmpty()) {
            return 0;
        }
        int[] sent = {0};
        AtomicReference<RuntimeException> failure = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                sent[0] = injectHere(cell, packets);
            } catch (RuntimeException e) {
                failure.set(e);
            }
        }, "inject " + cell.netnsName());
        t.start();
        try {
            t.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CellException("interrupted while injecting into " + cell.netnsName());
        }
        if (failure.get() != null) {
            throw failure.get();
        }
        PacketCounts.countInjected(sent[0]);
        return sent[0];
    }

    private static int injectHere(Cell cell, List<byte[]> packets) {
        C c = C.INSTANCE;
        int ns = c.open(cell.netnsPath().toString(), O_RDONLY | O_CLOEXEC);
        try {
            c.setns(ns, CLONE_NEWNET);
        } catch (LastErrorException e) {
            throw new CellException("cannot enter " + cell.netnsName() + " to inject buffered packets: " + e.getMessage());
        } finally {
            c.close(ns);
        }
        int fd;
        try {
            fd = c.socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
        } catch (LastErrorException e) {
            throw new CellException("cannot open a raw socket in " + cell.netnsName() + ": " + e.getMessage());
        }
        try {
            byte[] to = sockaddr(cell.vips().primary().address().getAddress());
            int n = 0;
            for (byte[] p : packets) {
                try {
                    fixChecksum(p);
                    c.sendto(fd, p, p.length, 0, to, to.length);
                    n++;
                } catch (LastErrorException e) {
                    // One bad packet must not stop the rest: TCP recovers a lost segment, not a lost buffer.
                }
            }
            return n;
        } finally {
            c.close(fd);
        }
    }

    /**
     * Recomputes the TCP or UDP checksum of an IPv4 packet in place. A frame captured where the
     * sender's checksum was left to offloading (veth, most NICs) carries a partial one, which the
     * cell's stack would drop as corrupt (TcpInCsumErrors). Fragments other than the first, and
     * other protocols, are left as they are.
     */
    static void fixChecksum(byte[] p) {
        if (p.length < 20 || (p[0] >> 4) != 4) {
            return;
        }
        int ihl = (p[0] & 0x0f) * 4;
        int total = Math.min(p.length, (p[2] & 0xff) << 8 | (p[3] & 0xff));
        boolean fragment = ((p[6] & 0x20) != 0) || (((p[6] & 0x1f) << 8 | (p[7] & 0xff)) != 0);
        int proto = p[9] & 0xff;
        int at = proto == 6 ? ihl + 16 : proto == 17 ? ihl + 6 : -1;
        // An IHL below 5 is no IPv4 header (the kernel drops it): the "checksum" would land in the IP header.
        if (at < 0 || ihl < 20 || fragment || total < at + 2) {
            return;
        }
        if (proto == 17 && p[at] == 0 && p[at + 1] == 0) {
            return; // UDP without a checksum stays without one.
        }
        int len = total - ihl;
        p[at] = 0;
        p[at + 1] = 0;
        long sum = 0;
        for (int i = 12; i < 20; i += 2) {
            sum += (p[i] & 0xff) << 8 | (p[i + 1] & 0xff);
        }
        sum += proto + len;
        for (int i = ihl; i < total; i += 2) {
            sum += (p[i] & 0xff) << 8 | (i + 1 < total ? p[i + 1] & 0xff : 0);
        }
        while ((sum >> 16) != 0) {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        int c = (int) ~sum & 0xffff;
        if (proto == 17 && c == 0) {
            c = 0xffff;
        }
        p[at] = (byte) (c >> 8);
        p[at + 1] = (byte) c;
    }

    /** struct sockaddr_in: family (host order), port 0, address (network order), zero padding. */
    private static byte[] sockaddr(byte[] ipv4) {
        byte[] a = new byte[16];
        a[0] = (byte) AF_INET;
        System.arraycopy(ipv4, 0, a, 4, 4);
        return a;
    }
}
