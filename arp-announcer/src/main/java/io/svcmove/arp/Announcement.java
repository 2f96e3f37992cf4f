package io.svcmove.arp;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.time.Duration;

/**
 * An announcement burst for one VIP: the first pair of frames at once, then {@code repeats} more
 * pairs {@code interval} apart. An IPv4 VIP is announced with gratuitous ARP, an IPv6 one with
 * unsolicited neighbour advertisements. The defaults follow Pacemaker's IPaddr2 (5 frames, 200 ms apart);
 * keepalived sends 5 too, but in one go, which a switch busy relearning can miss.
 */
public record Announcement(InetAddress vip, byte[] mac, int repeats, Duration interval) {
    public static final int DEFAULT_REPEATS = 4;
    public static final Duration DEFAULT_INTERVAL = Duration.ofMillis(200);

    public Announcement {
        if (!(vip instanceof Inet4Address) && !(vip instanceof Inet6Address)) {
            throw new IllegalArgumentException("a VIP is an IPv4 or IPv6 address, not " + vip);
        }
        if (mac.length != 6) {
            throw new IllegalArgumentException("a MAC address has 6 bytes, not " + mac.length);
        }
        if (repeats < 0) {
            throw new IllegalArgumentException("repeats must be 0 or more");
        }
        mac = mac.clone();
    }

    public static Announcement of(InetAddress vip, String mac) {
        return new Announcement(vip, parseMac(mac), DEFAULT_REPEATS, DEFAULT_INTERVAL);
    }

    /** The same announcement with another burst. */
    public Announcement withBurst(int repeats, Duration interval) {
        return new Announcement(vip, mac, repeats, interval);
    }

    static byte[] parseMac(String mac) {
        String[] parts = mac.split(":");
        if (parts.length != 6) {
            throw new IllegalArgumentException("not a MAC address: " + mac);
        }
        byte[] b = new byte[6];
        for (int i = 0; i < 6; i++) {
            b[i] = (byte) Integer.parseInt(parts[i], 16);
        }
        return b;
    }
}
