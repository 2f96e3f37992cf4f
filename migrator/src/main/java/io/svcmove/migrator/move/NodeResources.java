package io.svcmove.migrator.move;

import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * The destination's CPU features and free memory, compared with what the service needs. Flags from
 * /proc/cpuinfo rather than CRIU's cpuinfo image: both nodes read them without CRIU, and the missing
 * ones can be named to the operator.
 */
final class NodeResources {
    private NodeResources() {}

    /** The flags of /proc/cpuinfo text; {@code every} keeps those all CPUs offer, otherwise those any CPU offers. */
    static Set<String> cpuFlags(String cpuinfo, boolean every) {
        Set<String> flags = null;
        for (String line : cpuinfo.split("\n")) {
            int colon = line.indexOf(':');
            if (colon < 0 || !line.substring(0, colon).trim().equals("flags")) {
                continue;
            }
            Set<String> cpu = new HashSet<>(Arrays.asList(line.substring(colon + 1).trim().split("\\s+")));
            if (flags == null) {
                flags = cpu;
            } else if (every) {
                flags.retainAll(cpu);
            } else {
                flags.addAll(cpu);
            }
        }
        return flags == null ? Set.of() : flags;
    }

    /** A source process may run on any of its CPUs, and the restored one on any of the destination's. */
    static Preflight cpu(String node, String sourceCpuinfo, String destinationCpuinfo) {
        Set<String> missing = new TreeSet<>(cpuFlags(sourceCpuinfo, false));
        missing.removeAll(cpuFlags(destinationCpuinfo, true));
        return missing.isEmpty() ? Preflight.ok("cpu") : Preflight.refuse("cpu",
                "the CPU of " + node + " lacks " + String.join(" ", missing) + ", which the service's processes may use",
                "move it to a node with the same CPU features (or run it there from the start)");
    }

    /** MemAvailable of /proc/meminfo text, in kB; -1 when absent. */
    static long memAvailableKb(String meminfo) {
        for (String line : List.of(meminfo.split("\n"))) {
            if (line.startsWith("MemAvailable:")) {
                return Long.parseLong(line.substring("MemAvailable:".length()).trim().split("\\s+")[0]);
            }
        }
        return -1;
    }

    /** Refuses when the tree's resident memory plus {@code marginKb} exceeds what the destination has available. */
    static Preflight memory(String node, long availableKb, long rssKb, long marginKb) {
        long needKb = rssKb + marginKb;
        return availableKb >= needKb ? Preflight.ok("memory") : Preflight.refuse("memory",
                node + " has " + availableKb / 1024 + " MiB available, the service needs " + needKb / 1024
                        + " MiB (" + rssKb / 1024 + " MiB resident plus " + marginKb / 1024 + " MiB margin)",
                "free memory on " + node + " or move the service to another node");
    }
}
