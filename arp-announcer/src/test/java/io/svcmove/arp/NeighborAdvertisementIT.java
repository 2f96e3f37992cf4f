package io.svcmove.arp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A real announcement of an IPv6 VIP: two network namespaces joined by a veth, the announcer
 * sending from one (on a thread that entered it), tcpdump and the neighbour table on the other.
 * Linux takes an unsolicited advertisement only for an address it already has an entry for, so
 * the receiver starts with a stale entry holding another MAC: the override must replace it.
 */
class NeighborAdvertisementIT {
    private static final String PREFIX = System.getenv().getOrDefault("SVCMOVE_BED_PREFIX", "n6");
    private static final String SENDER = PREFIX + "-na-a";
    private static final String RECEIVER = PREFIX + "-na-b";
    private static final String SENDER_IF = PREFIX + "naa0";
    private static final String RECEIVER_IF = PREFIX + "nab0";
    private static final String VIP = "2001:db8:6::64";
    private static final String VIP_MAC = "02:5c:20:01:00:64";
    private static final String OLD_MAC = "02:00:00:00:00:01";

    interface C extends Library {
        C INSTANCE = Native.load("c", C.class);

        int open(String path, int flags) throws LastErrorException;

        int setns(int fd, int nstype) throws LastErrorException;

        int close(int fd) throws LastErrorException;
    }

    @BeforeEach
    void joinTwoNamespaces() throws Exception {
        tearDown();
        sh("ip", "netns", "add", SENDER);
        sh("ip", "netns", "add", RECEIVER);
        sh("ip", "link", "add", SENDER_IF, "netns", SENDER, "type", "veth", "peer", "name", RECEIVER_IF, "netns", RECEIVER);
        in(SENDER, "ip", "addr", "add", "2001:db8:6::1/64", "dev", SENDER_IF, "nodad");
        in(SENDER, "ip", "addr", "add", VIP + "/64", "dev", SENDER_IF, "nodad");
        in(RECEIVER, "ip", "addr", "add", "2001:db8:6::2/64", "dev", RECEIVER_IF, "nodad");
        for (String[] end : new String[][] {{SENDER, SENDER_IF}, {RECEIVER, RECEIVER_IF}}) {
            in(end[0], "ip", "link", "set", "lo", "up");
            in(end[0], "ip", "link", "set", end[1], "up");
        }
        awaitMulticastRoute();
        in(RECEIVER, "ip", "-6", "neigh", "replace", VIP, "lladdr", OLD_MAC, "dev", RECEIVER_IF, "nud", "stale");
    }

    @AfterEach
    void tearDown() throws Exception {
        for (String ns : List.of(SENDER, RECEIVER)) {
            run(List.of("ip", "netns", "del", ns));
        }
    }

    @Test
    void theReceiverSeesEachAdvertisementAndReplacesTheMacItCached() throws Exception {
        Process tcpdump = new ProcessBuilder("ip", "netns", "exec", RECEIVER, "tcpdump", "-i", RECEIVER_IF, "-nn", "-e", "-v", "-l",
                "--immediate-mode", "-c", "3", "icmp6 and ip6[40] == 136").start();
        try {
            awaitListening(tcpdump);
            Announcement a = Announcement.of(InetAddress.getByName(VIP), VIP_MAC).withBurst(2, Duration.ofMillis(100));
            try (ArpAnnouncer announcer = new ArpAnnouncer()) {
                inNetns(SENDER, () -> announcer.announce(SENDER_IF, a)).get(5, TimeUnit.SECONDS);
            }
            assertTrue(tcpdump.waitFor(5, TimeUnit.SECONDS), "tcpdump did not see 3 advertisements");
            String seen = new String(tcpdump.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            System.out.println("NeighborAdvertisementIT: captured\n" + seen);
            List<String> frames = seen.lines().filter(l -> l.contains(" " + VIP_MAC + " > 33:33:00:00:00:01,")).toList();
            assertEquals(3, frames.size(), seen);
            for (String f : frames) {
                // tcpdump verifies the ICMPv6 checksum itself: "sum ok".
                assertTrue(f.contains("hlim 255") && f.contains(VIP + " > ff02::1: [icmp6 sum ok]"), f);
            }
            assertEquals(3, count(seen, "neighbor advertisement, length 32, tgt is " + VIP), seen);
            assertEquals(3, count(seen, "Flags [override]"), seen);
            // Option 2, which tcpdump calls "destination link-address".
            assertEquals(3, count(seen, "link-address option (2), length 8 (1): " + VIP_MAC), seen);
        } finally {
            tcpdump.destroy();
            tcpdump.waitFor(2, TimeUnit.SECONDS);
        }
        String neigh = in(RECEIVER, "ip", "-6", "neigh", "show", VIP, "dev", RECEIVER_IF);
        assertTrue(neigh.contains("lladdr " + VIP_MAC), "the receiver kept " + neigh);
    }

    private interface Call<T> {
        T call() throws Exception;
    }

    /** Runs {@code call} on a thread of its own inside {@code netns}; setns changes only that thread. */
    private static <T> T inNetns(String netns, Call<T> call) throws Exception {
        ExecutorService one = Executors.newSingleThreadExecutor();
        try {
            return one.submit(() -> {
                int fd = C.INSTANCE.open("/run/netns/" + netns, 0);
                try {
                    C.INSTANCE.setns(fd, 0x40000000);
                } finally {
                    C.INSTANCE.close(fd);
                }
                return call.call();
            }).get(10, TimeUnit.SECONDS);
        } finally {
            one.shutdownNow();
        }
    }

    private static void awaitListening(Process tcpdump) throws IOException {
        BufferedReader err = new BufferedReader(new InputStreamReader(tcpdump.getErrorStream(), StandardCharsets.UTF_8));
        List<String> said = new ArrayList<>();
        for (String line; (line = err.readLine()) != null; ) {
            if (line.contains("listening on")) {
                return;
            }
            said.add(line);
        }
        throw new IllegalStateException("tcpdump ended before capturing: " + said);
    }

    /** Until the kernel routes ff00::/8 on the link (it adds that with the link-local address), it drops what goes to ff02::1. */
    private static void awaitMulticastRoute() throws Exception {
        for (int i = 0; i < 50; i++) {
            if (in(RECEIVER, "ip", "-6", "route", "show", "table", "local").contains("multicast ff00::/8 dev " + RECEIVER_IF)) {
                return;
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException("no multicast route on " + RECEIVER_IF + " after 5 s");
    }

    private static long count(String text, String what) {
        return text.lines().filter(l -> l.contains(what)).count();
    }

    private static String in(String netns, String... command) throws Exception {
        List<String> c = new ArrayList<>(List.of("ip", "netns", "exec", netns));
        c.addAll(List.of(command));
        return sh(c.toArray(String[]::new));
    }

    private static String sh(String... command) throws Exception {
        String[] r = run(List.of(command));
        if (!r[0].equals("0")) {
            throw new IllegalStateException(String.join(" ", command) + " exited " + r[0] + ": " + r[1]);
        }
        return r[1];
    }

    /** Exit code and combined output. */
    private static String[] run(List<String> command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(10, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException(String.join(" ", command) + " did not finish");
        }
        return new String[] {String.valueOf(p.exitValue()), out};
    }
}
