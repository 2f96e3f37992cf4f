package io.svcmove.vip;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A cell's VIPs: one IPv4 VIP, one IPv6 VIP, or one of each (dual stack), written
 * {@code 198.18.0.100/24,2001:db8::100/64}. The cell's MAC comes from the IPv4 VIP when it has one,
 * so adding an IPv6 VIP to a service changes nothing for its IPv4 clients.
 */
public record Vips(List<Vip> all) {

    public Vips {
        if (all.isEmpty() || all.size() > 2) {
            throw new CellException("a cell has one or two VIPs (one IPv4, one IPv6), not " + all.size());
        }
        if (all.size() == 2 && all.get(0).isIpv6() == all.get(1).isIpv6()) {
            throw new CellException("VIPs " + all.get(0) + " and " + all.get(1) + " are both IPv" + (all.get(0).isIpv6() ? 6 : 4)
                    + ": a cell has at most one VIP of each family; run another service for the second");
        }
        // IPv4 first: the primary VIP, whose MAC the cell takes.
        all = all.get(0).isIpv6() && all.size() == 2 ? List.of(all.get(1), all.get(0)) : List.copyOf(all);
    }

    public static Vips of(Vip... vips) {
        return new Vips(List.of(vips));
    }

    /** Parses one VIP or a comma-separated pair, as {@link #toString()} writes them. */
    public static Vips parse(String text) {
        List<Vip> vips = new ArrayList<>();
        for (String part : (text == null ? "" : text).split(",", -1)) {
            vips.add(Vip.parse(part));
        }
        return new Vips(vips);
    }

    /** The VIP the cell's MAC comes from: the IPv4 one if there is one. */
    public Vip primary() {
        return all.get(0);
    }

    public Optional<Vip> ipv4() {
        return all.stream().filter(v -> !v.isIpv6()).findFirst();
    }

    public Optional<Vip> ipv6() {
        return all.stream().filter(Vip::isIpv6).findFirst();
    }

    /** The first of these VIPs whose address OTHER has too. */
    public Optional<Vip> shared(Vips other) {
        return all.stream().filter(v -> other.all.stream().anyMatch(o -> o.address().equals(v.address()))).findFirst();
    }

    public String mac() {
        return primary().mac();
    }

    @Override
    public String toString() {
        return String.join(",", all.stream().map(Vip::toString).toList());
    }
}
