package io.svcmove.vip;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Two network namespaces of the test's own joined by a veth, each end with an IPv6 address of
 * 2001:db8:6:N::/64 (no duplicate-address detection, so they are usable at once) and a MAC of its
 * own. Names start with SVCMOVE_BED_PREFIX (n6 by default); closing deletes both namespaces.
 */
final class VethPair implements AutoCloseable {
    static final String PREFIX = System.getenv().getOrDefault("SVCMOVE_BED_PREFIX", "n6");

    final String a;
    final String b;
    final String aIf;
    final String bIf;
    final String aAddr;
    final String bAddr;
    final String aMac;
    final String bMac;

    /** {@code n} (1-9) tells the pairs of different tests apart: names, addresses and MACs. */
    VethPair(int n) {
        a = PREFIX + "-p" + n + "-a";
        b = PREFIX + "-p" + n + "-b";
        aIf = PREFIX + "p" + n + "a0";
        bIf = PREFIX + "p" + n + "b0";
        aAddr = "2001:db8:6:" + n + "::1";
        bAddr = "2001:db8:6:" + n + "::2";
        aMac = "02:6e:00:00:0" + n + ":0a";
        bMac = "02:6e:00:00:0" + n + ":0b";
        close();
        Exec.check("creating a test netns", List.of("ip", "netns", "add", a));
        Exec.check("creating a test netns", List.of("ip", "netns", "add", b));
        Exec.check("creating a test veth", List.of("ip", "link", "add", aIf, "address", aMac, "netns", a, "type", "veth",
                "peer", "name", bIf, "address", bMac, "netns", b));
        for (String[] end : new String[][] {{a, aIf, aAddr}, {b, bIf, bAddr}}) {
            in(end[0], "ip", "addr", "add", end[2] + "/64", "dev", end[1], "nodad");
            in(end[0], "ip", "link", "set", end[1], "up");
            in(end[0], "ip", "link", "set", "lo", "up");
        }
        awaitMulticastRoute(a, aIf);
        awaitMulticastRoute(b, bIf);
    }

    /** The kernel routes ff00::/8 on a link only once it has its link-local address; until then multicast is dropped. */
    private static void awaitMulticastRoute(String netns, String dev) {
        for (int i = 0; i < 50; i++) {
            if (in(netns, "ip", "-6", "route", "show", "table", "local").contains("multicast ff00::/8 dev " + dev)) {
                return;
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for " + dev, e);
            }
        }
        throw new IllegalStateException("no multicast route on " + dev + " in " + netns + " after 5 s");
    }

    /** {@code command} as it runs in {@code netns}. */
    static List<String> wrap(String netns, List<String> command) {
        List<String> c = new ArrayList<>(List.of("ip", "netns", "exec", netns));
        c.addAll(command);
        return c;
    }

    static String in(String netns, String... command) {
        return Exec.check("a test step in " + netns, wrap(netns, List.of(command))).stdout();
    }

    static Path path(String netns) {
        return Netns.pathOf(netns);
    }

    @Override
    public void close() {
        Exec.run(List.of("ip", "netns", "del", a));
        Exec.run(List.of("ip", "netns", "del", b));
    }
}
