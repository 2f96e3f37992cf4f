package io.svcmove.migrator.service;

import com.fasterxml.jackson.core.type.TypeReference;
import io.svcmove.migrator.control.ControlMessage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Files a service writes, closes and reads back later, named at {@code svcmove run --carry}: a
 * pidfile such as Apache's /run/apache2/apache2.pid (which {@code apache2ctl graceful} reads to
 * signal Apache), a small state file. CRIU moves what a process holds open, not these; they travel
 * in the service's images, read while its tree is frozen, and are written at the same path where
 * it is restored, with their owner and mode (one the service had not written is removed there).
 * Once the destination keeps the service the source removes the files it carried, so nothing on
 * the node it left points at a service that is gone. A carried path is the service's on every node.
 */
public final class CarriedFiles {
    private static final Logger log = LoggerFactory.getLogger(CarriedFiles.class);
    private static final String MANIFEST = "carried.json";
    /** Carried files ride in the freeze: pidfiles and state, not data (which belongs on storage the nodes share). */
    static final long MAX_BYTES = 1 << 20;
    private static final List<String> NOT_CARRIED = List.of("/proc", "/sys", "/dev");

    /** One carried path: whether the service had it, and its owner and mode (permission bits). */
    record Entry(String path, boolean present, int uid, int gid, int mode) {}

    private CarriedFiles() {}

    /** Why {@code path} cannot be carried, in words for {@code --carry}; null when it can. */
    public static String problem(String path) {
        Path p = Path.of(path);
        if (!p.isAbsolute() || !p.normalize().toString().equals(path) || path.equals("/")) {
            return "--carry takes the absolute path of a file, e.g. /run/apache2/apache2.pid, not '" + path + "'";
        }
        for (String fs : NOT_CARRIED) {
            if (path.startsWith(fs + "/")) {
                return "--carry " + path + ": files under " + fs + " are the kernel's, not the service's";
            }
        }
        return null;
    }

    /**
     * Copies each of {@code paths} as it is now into {@code images}, beside CRIU's images; returns
     * the identity (device and inode) of each file copied, by path, for {@link #removeCopied}.
     */
    public static Map<String, Object> pack(List<String> paths, Path images) throws IOException {
        Map<String, Object> copied = new LinkedHashMap<>();
        if (paths.isEmpty()) {
            return copied;
        }
        List<Entry> entries = new ArrayList<>();
        for (int i = 0; i < paths.size(); i++) {
            Path p = Path.of(paths.get(i));
            PosixFileAttributes a;
            try {
                a = Files.readAttributes(p, PosixFileAttributes.class);
            } catch (NoSuchFileException e) {
                entries.add(new Entry(paths.get(i), false, 0, 0, 0));
                continue;
            }
            if (!a.isRegularFile() || a.size() > MAX_BYTES) {
                throw new IOException("--carry " + p + " is " + (a.isRegularFile() ? a.size() + " bytes" : "not a regular file")
                        + ": only regular files up to " + (MAX_BYTES >> 10) + " KiB are carried (pidfiles, state); put data on"
                        + " storage both nodes share, or run the service again without that --carry");
            }
            Files.copy(p, images.resolve(blob(i)), StandardCopyOption.REPLACE_EXISTING);
            copied.put(paths.get(i), a.fileKey());
            entries.add(new Entry(paths.get(i), true, (Integer) Files.getAttribute(p, "unix:uid"),
                    (Integer) Files.getAttribute(p, "unix:gid"), bits(a.permissions())));
        }
        ControlMessage.JSON.writeValue(images.resolve(MANIFEST).toFile(), entries);
        return copied;
    }

    /**
     * Writes the files carried in {@code images} at their paths on this node (their directories
     * made if absent), removing those the service did not have; the paths it wrote, for {@link #remove}.
     * Only the paths of {@code carry}, the service's own list, are written.
     */
    public static List<String> place(Path images, List<String> carry) throws IOException {
        Path manifest = images.resolve(MANIFEST);
        if (!Files.exists(manifest)) {
            return List.of();
        }
        List<Entry> entries = ControlMessage.JSON.readValue(manifest.toFile(), new TypeReference<List<Entry>>() {});
        List<String> placed = new ArrayList<>();
        for (int i = 0; i < entries.size(); i++) {
            Entry e = entries.get(i);
            if (!carry.contains(e.path()) || problem(e.path()) != null) {
                throw new IOException("the images carry a file at '" + e.path() + "', which the service does not carry (run --carry)");
            }
            Path p = Path.of(e.path());
            if (!e.present()) {
                Files.deleteIfExists(p);
                continue;
            }
            Files.createDirectories(p.getParent());
            Path tmp = p.resolveSibling("." + p.getFileName() + ".svcmove");
            Files.copy(images.resolve(blob(i)), tmp, StandardCopyOption.REPLACE_EXISTING);
            Files.setAttribute(tmp, "unix:uid", e.uid(), LinkOption.NOFOLLOW_LINKS);
            Files.setAttribute(tmp, "unix:gid", e.gid(), LinkOption.NOFOLLOW_LINKS);
            Files.setPosixFilePermissions(tmp, permissions(e.mode()));
            Files.move(tmp, p, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            placed.add(e.path());
        }
        return placed;
    }

    /**
     * Once the service runs elsewhere: removes each file {@link #pack} copied if it is still that
     * file (where the nodes share a disk, the destination has replaced it with its own by then).
     * Failures are logged, not thrown.
     */
    public static void removeCopied(Map<String, Object> copied) {
        copied.forEach((path, key) -> {
            try {
                if (key != null && key.equals(Files.readAttributes(Path.of(path), PosixFileAttributes.class).fileKey())) {
                    Files.delete(Path.of(path));
                }
            } catch (NoSuchFileException e) {
                // gone already
            } catch (IOException e) {
                log.warn("cannot remove {}, carried by a service that left this node: {}", path, e.getMessage());
            }
        });
    }

    /** Removes the files {@link #place} wrote: the service they were written for is not here. Failures are logged. */
    public static void remove(List<String> paths) {
        for (String path : paths) {
            try {
                Files.deleteIfExists(Path.of(path));
            } catch (IOException e) {
                log.warn("cannot remove {}, written for a service that is not here: {}", path, e.getMessage());
            }
        }
    }

    private static String blob(int i) {
        return "carried-" + i;
    }

    private static int bits(Set<PosixFilePermission> perms) {
        int mode = 0;
        for (PosixFilePermission p : perms) {
            mode |= 0400 >> p.ordinal();
        }
        return mode;
    }

    private static Set<PosixFilePermission> permissions(int mode) {
        Set<PosixFilePermission> out = EnumSet.noneOf(PosixFilePermission.class);
        for (PosixFilePermission p : PosixFilePermission.values()) {
            if ((mode & (0400 >> p.ordinal())) != 0) {
                out.add(p);
            }
        }
        return out;
    }
}
