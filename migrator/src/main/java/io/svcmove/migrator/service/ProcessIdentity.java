package io.svcmove.migrator.service;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Which process a PID is: its start time (field 22 of /proc/PID/stat, clock ticks since boot).
 * A PID recorded before a crash or a reboot may since have been given to another process; the
 * start time it was recorded with tells them apart.
 */
public final class ProcessIdentity {
    private ProcessIdentity() {}

    /** The start time of {@code pid}, or 0 if there is no such process. */
    public static long startOf(long pid) {
        if (pid <= 0) {
            return 0;
        }
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Long.parseLong(f[19]); // field 22 of stat; f[0] is field 3 (state)
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    /**
     * Whether {@code pid} is still the process that was recorded with start time {@code start} (0:
     * not recorded, by an older agent; then only the caller's other checks, such as the cell, apply).
     */
    public static boolean same(long pid, long start) {
        long now = startOf(pid);
        return now != 0 && (start == 0 || now == start);
    }
}
