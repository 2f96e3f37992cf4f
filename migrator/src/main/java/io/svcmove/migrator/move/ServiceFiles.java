package io.svcmove.migrator.move;

import io.svcmove.migrator.control.ControlException;
import io.svcmove.migrator.control.Outcome;
import io.svcmove.migrator.criu.OpenFd;
import io.svcmove.migrator.criu.RestoreOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a service's processes hold open that its restore must be handed, not reopen from the
 * images: the pipe its output goes out of (to svcmove's relay, outside the cell), and node-local
 * logs, regular files it appends to (O_APPEND), such as Apache's /var/log/apache2/*.log. A log is
 * the node's own: the restored service appends to the file of the same path on its new node,
 * created if absent, and CRIU's check that a file kept its size (which a growing log fails) does
 * not apply to it. Whatever the daemon did with its stdio (kept svcmove's pipe, reopened it to
 * /dev/null or a file, closed it) is covered.
 *
 * <p>Every other file the processes have open or mapped (data files, the executables, their
 * libraries) must be the same where the service arrives, as CRIU will find it there at restore:
 * {@link #required} lists them with their sizes and, for ELF files, their build-ids (CRIU's
 * default check of an executable or library: two builds of one package version may have the same
 * size), and the destination refuses a move in prepare, before the freeze, when one is missing or
 * differs ({@link #mismatches}).
 *
 * @param outputPipe CRIU's key of the output pipe ({@code pipe:[INODE]}), or null when no process
 *     writes to svcmove's relay any more
 * @param logs the node-local logs, by path
 * @param required the files that must be the same on the destination, by path
 */
public record ServiceFiles(String outputPipe, List<Log> logs, List<Required> required) {
    private static final Logger log = LoggerFactory.getLogger(ServiceFiles.class);
    private static final int O_ACCMODE = 3;
    private static final int O_WRONLY = 1;
    private static final int O_RDWR = 2;
    private static final int O_APPEND = 02000;

    /** A node-local log: its absolute path, and the owner and mode it is created with where it is absent. */
    public record Log(String path, int uid, int gid, int mode) {}

    /**
     * A file that must be the same on the destination: its absolute path, its size and its ELF
     * build-id in hex (null: not an ELF file with one, or a source that does not send it).
     */
    public record Required(String path, long size, String buildId) {}

    public ServiceFiles {
        logs = logs == null ? List.of() : List.copyOf(logs);
        required = required == null ? List.of() : List.copyOf(required);
    }

    /**
     * What this node lacks of the files the service needs, each naming the file and both nodes
     * (the caller adds the fix); empty when every one is here with the same size and build-id.
     */
    public List<String> mismatches(String service, String from, String here) {
        List<String> out = new ArrayList<>();
        for (Required r : required) {
            Path p = Path.of(r.path());
            if (!Files.isRegularFile(p)) {
                out.add(r.path() + " is open by " + service + " on " + from + " but " + here + " lacks it");
            } else {
                try {
                    long size = Files.size(p);
                    if (size != r.size()) {
                        out.add(r.path() + " differs: " + r.size() + " bytes on " + from + ", " + size + " on " + here);
                    } else if (r.buildId() != null) {
                        String ours = ElfBuildId.of(p).orElse(null);
                        if (!r.buildId().equals(ours)) {
                            out.add(r.path() + " is another build: build-id " + r.buildId() + " on " + from + ", "
                                    + (ours == null ? "none" : ours) + " on " + here);
                        }
                    }
                } catch (IOException e) {
                    out.add(r.path() + " cannot be read on " + here + " (" + e.getMessage() + ")");
                }
            }
        }
        return out;
    }

    /**
     * Reads the open files of the service's processes. Refuses (exit 3), before anything changes,
     * when more than one pipe leads out of the cell: svcmove can give the restored service only its
     * own relay's.
     */
    public static ServiceFiles of(String service, String node, List<Long> pids) {
        Map<String, Boolean> pipeRead = new TreeMap<>(); // pipe key -> whether a process of the cell reads it
        Map<String, Log> logs = new TreeMap<>();
        Set<String> opened = new TreeSet<>();
        for (long pid : pids) {
            for (Fd fd : fds(pid)) {
                if (fd.target().startsWith("pipe:[")) {
                    boolean reads = (fd.flags() & O_ACCMODE) != O_WRONLY;
                    pipeRead.merge(fd.target(), reads, Boolean::logicalOr);
                } else if (nodeFile(fd.target())) {
                    if (appends(fd.flags())) {
                        logs.computeIfAbsent(fd.target(), k -> logOf(Path.of(k)));
                    } else {
                        opened.add(fd.target());
                    }
                }
            }
            opened.addAll(mapped(pid));
        }
        opened.removeAll(logs.keySet());
        List<Required> required = new ArrayList<>();
        for (String path : opened) {
            try {
                Path p = Path.of(path);
                required.add(new Required(path, Files.size(p), ElfBuildId.of(p).orElse(null)));
            } catch (IOException e) {
                // gone meanwhile: CRIU will say so at the dump
            }
        }
        TreeSet<String> outward = new TreeSet<>();
        pipeRead.forEach((key, read) -> {
            if (!read) {
                outward.add(key);
            }
        });
        if (outward.size() > 1) {
            throw new ControlException(Outcome.REFUSED, service + " writes to " + outward.size() + " pipes that no process of its cell"
                    + " reads (" + String.join(", ", outward) + "): on " + node + " only svcmove's own output relay may read a"
                    + " service's pipe from outside its cell, and after a move nothing would read the others; have the service"
                    + " log to a file or to its stdout instead");
        }
        return new ServiceFiles(outward.isEmpty() ? null : outward.first(), List.copyOf(logs.values()), required);
    }

    /** A regular file of the node's filesystems (not /proc or /sys, not one deleted while open). */
    private static boolean nodeFile(String target) {
        return target.startsWith("/") && !target.endsWith(" (deleted)") && !target.startsWith("/proc/") && !target.startsWith("/sys/")
                && Files.isRegularFile(Path.of(target), LinkOption.NOFOLLOW_LINKS);
    }

    /** The files a process maps: its executable, its libraries, files it mapped itself. */
    private static Set<String> mapped(long pid) {
        Set<String> out = new TreeSet<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "maps"))) {
                int slash = line.indexOf(" /");
                if (slash >= 0 && nodeFile(line.substring(slash + 1))) {
                    out.add(line.substring(slash + 1));
                }
            }
        } catch (IOException e) {
            // gone meanwhile
        }
        return out;
    }

    /** Written to (write-only or read-write) with O_APPEND: a log, not a file whose contents the service manages. */
    static boolean appends(int flags) {
        int access = flags & O_ACCMODE;
        return (access == O_WRONLY || access == O_RDWR) && (flags & O_APPEND) != 0;
    }

    /** The files the restore is handed: each opened here and given to CRIU under the key its images know it by. */
    public final class Opened implements AutoCloseable {
        private final List<OpenFd> logFds = new ArrayList<>();
        private final OpenFd output;

        private Opened(Path relayPipe) throws IOException {
            output = outputPipe == null ? null : OpenFd.openForWriting(relayPipe);
            try {
                for (Log l : logs) {
                    logFds.add(openLog(l));
                }
            } catch (IOException | RuntimeException e) {
                close();
                throw e;
            }
        }

        /** Adds every inherited file to a restore. */
        public RestoreOptions.Builder into(RestoreOptions.Builder restore) {
            if (output != null) {
                restore.inheritFd(outputPipe, output.fd());
            }
            for (int i = 0; i < logs.size(); i++) {
                restore.inheritFd(criuPath(logs.get(i).path()), logFds.get(i).fd());
            }
            return restore;
        }

        @Override
        public void close() {
            if (output != null) {
                output.close();
            }
            logFds.forEach(OpenFd::close);
        }
    }

    /** Opens what the restore inherits; {@code relayPipe} is this node's relay for the service's output. */
    public Opened open(Path relayPipe) throws IOException {
        return new Opened(relayPipe);
    }

    /** CRIU names a regular file in its images by its path without the leading slash. */
    static String criuPath(String path) {
        return path.substring(1);
    }

    private static OpenFd openLog(Log l) throws IOException {
        Path p = Path.of(l.path());
        boolean created = !Files.exists(p);
        if (created && p.getParent() != null && !Files.isDirectory(p.getParent())) {
            Files.createDirectories(p.getParent());
            log.info("created {} for the service's log {}", p.getParent(), p);
        }
        OpenFd fd = OpenFd.openForAppending(p, l.mode());
        if (created) {
            // The same owner and mode as on the node it came from (e.g. root:adm 0640 for Apache's logs).
            Files.setAttribute(p, "unix:uid", l.uid());
            Files.setAttribute(p, "unix:gid", l.gid());
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(rwx(l.mode())));
            log.info("created the service's log {} (uid {}, gid {}, mode {})", p, l.uid(), l.gid(), Integer.toOctalString(l.mode()));
        }
        return fd;
    }

    private static String rwx(int mode) {
        StringBuilder b = new StringBuilder();
        for (int shift = 6; shift >= 0; shift -= 3) {
            int bits = mode >> shift;
            b.append((bits & 4) != 0 ? 'r' : '-').append((bits & 2) != 0 ? 'w' : '-').append((bits & 1) != 0 ? 'x' : '-');
        }
        return b.toString();
    }

    private static Log logOf(Path p) {
        try {
            return new Log(p.toString(), (Integer) Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS),
                    (Integer) Files.getAttribute(p, "unix:gid", LinkOption.NOFOLLOW_LINKS),
                    (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS) & 0777);
        } catch (IOException e) {
            return new Log(p.toString(), 0, 0, 0644);
        }
    }

    private record Fd(String target, int flags) {}

    /** The open files of a process (one gone meanwhile has none). */
    private static List<Fd> fds(long pid) {
        Path dir = Path.of("/proc", Long.toString(pid), "fd");
        List<Fd> out = new ArrayList<>();
        try (Stream<Path> all = Files.list(dir)) {
            for (Path fd : all.toList()) {
                try {
                    out.add(new Fd(Files.readSymbolicLink(fd).toString(), flags(Path.of("/proc", Long.toString(pid), "fdinfo",
                            fd.getFileName().toString()))));
                } catch (IOException e) {
                    // closed meanwhile
                }
            }
        } catch (IOException e) {
            return List.of();
        }
        return out;
    }

    /** The "flags:" line of /proc/PID/fdinfo/N, in octal. */
    static int flags(Path fdinfo) throws IOException {
        for (String line : Files.readAllLines(fdinfo)) {
            if (line.startsWith("flags:")) {
                return Integer.parseInt(line.substring(6).trim(), 8);
            }
        }
        throw new IOException("no flags in " + fdinfo);
    }
}
