package io.svcmove.migrator.service;

import io.svcmove.arp.Announcement;
import io.svcmove.vip.Vip;
import io.svcmove.vip.Vips;
import java.time.Duration;
import java.util.List;

/**
 * What a node sends on taking a cell's VIPs: gratuitous ARP for the IPv4 VIP, unsolicited neighbour
 * advertisements for the IPv6 one, each from the cell's one MAC (a dual-stack cell's comes from its
 * IPv4 VIP), so that switches and clients of either family learn where the cell now is.
 */
public final class VipAnnouncements {
    private VipAnnouncements() {}

    public static List<Announcement> of(Vips vips, int repeats, Duration interval) {
        return vips.all().stream().map((Vip v) -> Announcement.of(v.address(), vips.mac()).withBurst(repeats, interval)).toList();
    }
}
