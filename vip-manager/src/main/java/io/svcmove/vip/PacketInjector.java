package io.svcmove.vip;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Delivers buffered packets to a cell's own stack. A raw socket (IPPROTO_RAW, which on Linux means
 * the packet carries its own header, for IPv6 as for IPv4) opened inside the cell's network
 * namespace and sending to the packet's own destination hands it to the local stack, as if it had
 * just arrived; sending the frames on the NIC instead would put them on the wire. The sockets are
 * made on a thread of its own that enters the cell's namespace (setns changes only the calling
 * thread) and ends afterwards, so no pooled thread is left in a cell.
 */
public final class PacketInjector {
    private static final int AF_INET = 2;
    private static final int AF_INET6 = 10;
    private static final int SOCK_RAW = 3;
    private static final int IPPROTO_RAW = 255;
    private static final int CLONE_NEWNET = 0x40000000;
    private static final int O_RDONLY = 0;
    private static final int O_CLOEXEC = 0x80000;
    private static final int IPV6_HEADER = 40;

    interface C extends Library {
        C INSTANCE = Native.load("c", C.class);

        int open(String path, int flags) throws LastErrorException;

        int setns(int fd, int nstype) throws LastErrorException;

        int socket(int domain, int type, int protocol) throws LastErrorException;

        int sendto(int fd, byte[] buf, int len, int flags, byte[] addr, int addrlen) throws LastErrorException;

        int close(int fd) throws LastErrorException;
    }

    private PacketInjector() {}

    /** Injects {@code packets} (IPv4 or IPv6, in order) into {@code cell}; returns how many the kernel took. */
    public static int inject(Cell cell, List<byte[]> packets) {
        return inject(cell.netnsPath(), cell.netnsName(), packets);
    }

    /** The same into the network namespace at {@code netns}, called {@code name} in messages. */
    static int inject(Path netns, String name, List<byte[]> packets) {
        if (packets.isEmpty()) {
            return 0;
        }
        int[] sent = {0};
        AtomicReference<RuntimeException> failure = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                sent[0] = injectHere(netns, name, packets);
            } catch (RuntimeException e) {
                failure.set(e);
            }
        }, "inject " + name);
        t.start();
        try {
            t.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CellException("interrupted while injecting into " + name);
        }
        if (failure.get() != null) {
            throw failure.get();
        }
        PacketCounts.countInjected(sent[0]);
        return sent[0];
    }

    private static int injectHere(Path netns, String name, List<byte[]> packets) {
        C c = C.INSTANCE;
        int ns = c.open(netns.toString(), O_RDONLY | O_CLOEXEC);
        try {
            c.setns(ns, CLONE_NEWNET);
        } catch (LastErrorException e) {
            throw new CellException("cannot enter " + name + " to inject buffered packets: " + e.getMessage());
        } finally {
            c.close(ns);
        }
        // Each family's socket is opened at its first packet: a cell without IPv6 needs none.
        int[] fds = {-1, -1};
        try {
            int n = 0;
            for (byte[] p : packets) {
                byte[] to = destination(p);
                if (to == null) {
                    continue;
                }
                int family = to.length == 16 ? 0 : 1;
                if (fds[family] < 0) {
                    fds[family] = rawSocket(family == 0 ? AF_INET : AF_INET6, name);
                }
                try {
                    fixChecksum(p);
                    c.sendto(fds[family], p, p.length, 0, to, to.length);
                    n++;
                } catch (LastErrorException e) {
                    // One bad packet must not stop the rest: TCP recovers a lost segment, not a lost buffer.
                }
            }
            return n;
        } finally {
            for (int fd : fds) {
                if (fd >= 0) {
                    c.close(fd);
                }
            }
        }
    }

    private static int rawSocket(int family, String name) {
        try {
            return C.INSTANCE.socket(family, SOCK_RAW, IPPROTO_RAW);
        } catch (LastErrorException e) {
            throw new CellException("cannot open a raw " + (family == AF_INET ? "IPv4" : "IPv6") + " socket in " + name
                    + ": " + e.getMessage());
        }
    }

    /**
     * The socket address of the packet's own destination: struct sockaddr_in (16 bytes) for IPv4,
     * sockaddr_in6 (28) for IPv6; {@code null} for what is neither.
     */
    static byte[] destination(byte[] p) {
        int version = p.length == 0 ? 0 : (p[0] & 0xf0) >> 4;
        if (version == 4 && p.length >= 20) {
            // family (host order), port 0, address (network order), zero padding.
            byte[] a = new byte[16];
            a[0] = (byte) AF_INET;
            System.arraycopy(p, 16, a, 4, 4);
            return a;
        }
        if (version == 6 && p.length >= IPV6_HEADER) {
            // family (host order), port 0, flow info 0, address, scope id 0.
            byte[] a = new byte[28];
            a[0] = (byte) AF_INET6;
            System.arraycopy(p, 24, a, 8, 16);
            return a;
        }
        return null;
    }

    /**
     * Recomputes the TCP or UDP checksum of an IPv4 or IPv6 packet in place. A frame captured where
     * the sender's checksum was left to offloading (veth, most NICs) carries a partial one, which the
     * cell's stack would drop as corrupt (TcpInCsumErrors). IPv4 fragments other than the first,
     * IPv6 packets whose next header is not directly TCP or UDP (extension headers), and other
     * protocols are left as they are.
     */
    static void fixChecksum(byte[] p) {
        int version = p.length == 0 ? 0 : (p[0] & 0xf0) >> 4;
        if (version == 4) {
            fixIpv4(p);
        } else if (version == 6) {
            fixIpv6(p);
        }
    }

    private static void fixIpv4(byte[] p) {
        if (p.length < 20) {
            return;
        }
        int ihl = (p[0] & 0x0f) * 4;
        int total = Math.min(p.length, (p[2] & 0xff) << 8 | (p[3] & 0xff));
        boolean fragment = ((p[6] & 0x20) != 0) || (((p[6] & 0x1f) << 8 | (p[7] & 0xff)) != 0);
        int proto = p[9] & 0xff;
        int at = checksumAt(proto, ihl);
        // An IHL below 5 is no IPv4 header (the kernel drops it): the "checksum" would land in the IP header.
        if (at < 0 || ihl < 20 || fragment || total < at + 2) {
            return;
        }
        if (proto == 17 && p[at] == 0 && p[at + 1] == 0) {
            return; // UDP without a checksum stays without one.
        }
        writeChecksum(p, at, proto, sum(p, 12, 20), ihl, total);
    }

    /** RFC 8200 8.1: over IPv6, UDP must have a checksum too, so one that was left out is written. */
    private static void fixIpv6(byte[] p) {
        if (p.length < IPV6_HEADER) {
            return;
        }
        int end = Math.min(p.length, IPV6_HEADER + ((p[4] & 0xff) << 8 | (p[5] & 0xff)));
        int proto = p[6] & 0xff;
        int at = checksumAt(proto, IPV6_HEADER);
        if (at < 0 || end < at + 2) {
            return;
        }
        writeChecksum(p, at, proto, sum(p, 8, IPV6_HEADER), IPV6_HEADER, end);
    }

    /** Where the checksum of a TCP (6) or UDP (17) header starting at {@code l4} lies; -1 for other protocols. */
    private static int checksumAt(int proto, int l4) {
        return proto == 6 ? l4 + 16 : proto == 17 ? l4 + 6 : -1;
    }

    /**
     * Writes at {@code at} the checksum of {@code p[from, to)} with the pseudo-header whose address
     * part sums to {@code addresses}; the upper-layer length and protocol complete it (the same sum
     * for IPv4's 16-bit and IPv6's 32-bit length, as the length is below 65536).
     */
    private static void writeChecksum(byte[] p, int at, int proto, long addresses, int from, int to) {
        p[at] = 0;
        p[at + 1] = 0;
        long sum = addresses + proto + (to - from) + sum(p, from, to);
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

    /** The sum of {@code p[from, to)} as 16-bit big-endian words, an odd last byte padded with zero. */
    private static long sum(byte[] p, int from, int to) {
        long sum = 0;
        for (int i = from; i < to; i += 2) {
            sum += (p[i] & 0xff) << 8 | (i + 1 < to ? p[i + 1] & 0xff : 0);
        }
        return sum;
    }
}
