package io.svcmove.migrator.move;

import io.svcmove.migrator.control.ControlException;
import io.svcmove.migrator.control.Outcome;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * CRIU reads every process's rlimits; for a process of another uid that takes CAP_SYS_RESOURCE,
 * which root lacks in some containers. Such a tree (Apache's www-data children) fails at the dump,
 * inside the freeze. This check refuses the move before anything changes, and says why.
 */
final class ForeignUids {
    private static final int CAP_SYS_RESOURCE = 24;

    private ForeignUids() {}

    /** Refuses (exit 3) when a process of the tree runs as another uid than the agent and the agent lacks the capability. */
    static void check(String service, String node, List<Long> pids) {
        if (hasCapability(read(Path.of("/proc/self/status")), CAP_SYS_RESOURCE)) {
            return;
        }
        for (long pid : pids) {
            Optional<Long> uid = realUid(read(Path.of("/proc", Long.toString(pid), "status")));
            if (uid.isPresent() && uid.get() != 0) {
                throw new ControlException(Outcome.REFUSED, service + " has a process of uid " + uid.get() + " (pid " + pid
                        + ") and root on " + node + " lacks CAP_SYS_RESOURCE (a container?), without which CRIU cannot read"
                        + " another uid's rlimits: run the service as root on such nodes, or give the agent CAP_SYS_RESOURCE");
            }
        }
    }

    static boolean hasCapability(String status, int cap) {
        for (String line : status.split("\n")) {
            if (line.startsWith("CapEff:")) {
                return (Long.parseUnsignedLong(line.substring(7).trim(), 16) >>> cap & 1) == 1;
            }
        }
        return false;
    }

    static Optional<Long> realUid(String status) {
        for (String line : status.split("\n")) {
            if (line.startsWith("Uid:")) {
                return Optional.of(Long.parseLong(line.substring(4).trim().split("\\s+")[0]));
            }
        }
        return Optional.empty();
    }

    /** A process gone meanwhile reads as empty: it has no uid to object to. */
    private static String read(Path status) {
        try {
            return Files.readString(status);
        } catch (IOException e) {
            return "";
        }
    }
}
