package io.svcmove.migrator.move;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
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
    /** Kept free on the destination beyond what the service takes: its cell, CRIU, the agent's own work. */
    static final long MARGIN_KB = 64 * 1024;

    private NodeResources() {}

    /**
     * What a service needs of the node it moves to, measured on its source: the CPU flags its
     * processes may use (any CPU's) and the memory it takes there in kB: its proportional set size,
     * twice for an eager move (the images sit in the destination's tmpfs while it is restored).
     */
    record Needs(List<String> cpuFlags, long memoryKb) {
        static Needs of(List<Long> pids, boolean lazy) {
            long pssKb = 0;
            for (long pid : pids) {
                pssKb += pssKb(smapsRollup(pid));
            }
            return new Needs(List.copyOf(new TreeSet<>(NodeResources.cpuFlags(read(Path.of("/proc/cpuinfo")), false))),
                    lazy ? pssKb : 2 * pssKb);
        }
    }

    /** The checks of this node, the destination, against what the service needs. */
    static List<Preflight> here(String node, Needs needs) {
        return List.of(cpu(node, Set.copyOf(needs.cpuFlags()), read(Path.of("/proc/cpuinfo"))),
                memory(node, memAvailableKb(read(Path.of("/proc/meminfo"))), needs.memoryKb(), MARGIN_KB));
    }

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

    /** A source process may run on any of its CPUs ({@code sourceFlags}), and the restored one on any of the destination's. */
    static Preflight cpu(String node, Set<String> sourceFlags, String destinationCpuinfo) {
        Set<String> missing = new TreeSet<>(sourceFlags);
        missing.removeAll(cpuFlags(destinationCpuinfo, true));
        return missing.isEmpty() ? Preflight.ok("cpu") : Preflight.refuse("cpu",
                "the CPU of " + node + " lacks " + String.join(" ", missing) + ", which the service's processes may use",
                "move it to a node with the same CPU features (or run it there from the start)");
    }

    /** MemAvailable of /proc/meminfo text, in kB; -1 when absent. */
    static long memAvailableKb(String meminfo) {
        return field(meminfo, "MemAvailable:", -1);
    }

    /** The Pss of /proc/PID/smaps_rollup text, in kB; 0 when absent (a process gone meanwhile). */
    static long pssKb(String smapsRollup) {
        return field(smapsRollup, "Pss:", 0);
    }

    /** /proc/PID/smaps_rollup, "" for a process gone meanwhile. */
    static String smapsRollup(long pid) {
        return read(Path.of("/proc", Long.toString(pid), "smaps_rollup"));
    }

    /** The number after {@code name} on its line of /proc text ({@code Name:  123 kB}), {@code absent} when no line has it. */
    static long field(String text, String name, long absent) {
        for (String line : text.split("\n")) {
            if (line.startsWith(name)) {
                return Long.parseLong(line.substring(name.length()).trim().split("\\s+")[0]);
            }
        }
        return absent;
    }

    /** Refuses when the service's memory plus {@code marginKb} exceeds what the destination has available. */
    static Preflight memory(String node, long availableKb, long needKb, long marginKb) {
        long totalKb = needKb + marginKb;
        return availableKb >= totalKb ? Preflight.ok("memory") : Preflight.refuse("memory",
                node + " has " + availableKb / 1024 + " MiB available, the service needs " + totalKb / 1024
                        + " MiB (" + needKb / 1024 + " MiB for it plus " + marginKb / 1024 + " MiB margin)",
                "free memory on " + node + " or move the service to another node");
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (NoSuchFileException e) {
            return "";
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }
}
