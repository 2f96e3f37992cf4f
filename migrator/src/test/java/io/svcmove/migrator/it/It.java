package io.svcmove.migrator.it;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.svcmove.testbed.ExecResult;
import io.svcmove.testbed.TestBed;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.stream.Stream;

/** Small helpers the end-to-end tests of this package share (the bed's services: {@link io.svcmove.testbed.Services}; downloads:
 * {@link io.svcmove.testbed.Downloads}). */
final class It {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Duration SHORT = Duration.ofSeconds(15);

    private It() {}

    /** The full name of a node, e.g. "mnode2" for bed prefix "m": what the CLI and the agents call it. */
    /** A python3 program that holds MB of memory, every page written, and then idles: a service whose move has pages to carry. */
    static String memoryHog(int mb) {
        return "import time\nb = bytearray(" + mb + " << 20)\nb[::4096] = b'x' * len(range(0, len(b), 4096))\ntime.sleep(3600)\n";
    }

    static String node(TestBed bed, int index) {
        return bed.nodes().get(index);
    }

    /** VIP with the prefix length of the bed's LAN of its family. */
    static String cidr(TestBed bed, String vip) {
        return vip + "/" + (vip.contains(":") ? bed.prefixLength6() : bed.prefixLength());
    }

    /** VIP as the host part of a URL: IPv6 in brackets. */
    static String urlHost(String vip) {
        return vip.contains(":") ? "[" + vip + "]" : vip;
    }

    static void deleteTree(Path dir) {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.sorted((a, b) -> b.getNameCount() - a.getNameCount()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + dir, e);
        }
    }

    /** A process (host PID namespace) still exists and is not a zombie. */
    static boolean alive(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            return !stat.substring(stat.lastIndexOf(')') + 2).startsWith("Z");
        } catch (IOException e) {
            return false;
        }
    }

    /** The HTTP status the client gets for URL (000 when nothing answers). */
    static String httpCode(TestBed bed, String url) {
        ExecResult r = bed.exec(bed.client(), SHORT, "curl", "-sS", "-o", "/dev/null", "--max-time", "5",
                "-w", "%{http_code}", url);
        return r.stdout().trim();
    }
}
