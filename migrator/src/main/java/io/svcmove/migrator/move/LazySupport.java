package io.svcmove.migrator.move;

import io.svcmove.migrator.criu.Criu;
import java.io.IOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** What a lazy (post-copy) move needs of a node, and the service's memory that decides {@code --mode auto}. */
final class LazySupport {
    /** CRIU sizes its page pipes up to 4 MiB; above fs.pipe-max-size only CAP_SYS_RESOURCE may do that. */
    static final long PIPE_BYTES = 4L << 20;
    private static final int CAP_SYS_RESOURCE = 24;

    private LazySupport() {}

    /** What this node lacks for a lazy move, each with its fix; empty when it can make one. */
    static List<String> missing(Criu criu, String node) {
        Boolean uffd;
        String uffdError = null;
        try {
            uffd = criu != null && criu.lazyPagesAvailable();
        } catch (Exception e) {
            uffd = null;
            uffdError = e.getMessage();
        }
        long pipeMax;
        boolean sysResource;
        try {
            pipeMax = Long.parseLong(Files.readAllLines(Path.of("/proc/sys/fs/pipe-max-size")).get(0).trim());
            sysResource = hasCapability(CAP_SYS_RESOURCE);
        } catch (IOException | NumberFormatException e) {
            return missing(node, uffd, uffdError, -1, false);
        }
        return missing(node, uffd, uffdError, pipeMax, sysResource);
    }

    /**
     * @param uffd whether CRIU reports lazy pages, null when its check failed with {@code uffdError}
     * @param pipeMax fs.pipe-max-size, -1 when unreadable
     */
    static List<String> missing(String node, Boolean uffd, String uffdError, long pipeMax, boolean sysResource) {
        List<String> missing = new ArrayList<>();
        if (uffd == null) {
            missing.add(node + ": CRIU's feature check failed (" + uffdError + ")");
        } else if (!uffd) {
            missing.add(node + ": CRIU reports no lazy pages (the kernel needs userfaultfd with non-cooperative events,"
                    + " CONFIG_USERFAULTFD; 'criu check --feature uffd-noncoop' says more)");
        }
        if (pipeMax < 0) {
            missing.add(node + ": cannot read fs.pipe-max-size");
        } else if (pipeMax < PIPE_BYTES && !sysResource) {
            missing.add(node + ": fs.pipe-max-size is " + pipeMax + " and root lacks CAP_SYS_RESOURCE, so CRIU's page pipes"
                    + " fail: sysctl fs.pipe-max-size=16777216 (make setup does it)");
        }
        return missing;
    }

    private static boolean hasCapability(int cap) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("CapEff:")) {
                return new BigInteger(line.substring(7).trim(), 16).testBit(cap);
            }
        }
        return false;
    }

    /** The resident memory of a service's processes (what a move has to carry). */
    static long residentBytes(List<Long> pids) {
        long total = 0;
        for (long pid : pids) {
            try {
                for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                    if (line.startsWith("VmRSS:")) {
                        total += Long.parseLong(line.replaceAll("\\D", "")) * 1024;
                    }
                }
            } catch (IOException | NumberFormatException e) {
                // gone meanwhile: it carries nothing
            }
        }
        return total;
    }

    /** A port free on {@code address} now, for CRIU's page server (which cannot report one it picked). */
    static int freePort(String address) throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName(address))) {
            return s.getLocalPort();
        }
    }
}
