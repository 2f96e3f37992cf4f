package io.svcmove.migrator.criu;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where the CRIU that native/setup builds keeps what it learns of the kernel ({@code criu.kdat},
 * its RUNDIR): without it each dump and each restore probes the kernel again, about 20 ms of the
 * freeze each. CRIU keeps the file only on a tmpfs, and /run is not one on every host, so the
 * directory gets a small root-only tmpfs of its own; a reboot takes the mount, the agent makes it
 * again.
 */
public final class KernelCache {
    private static final Logger log = LoggerFactory.getLogger(KernelCache.class);
    /** The same place as kdat_dir in native/setup. */
    public static final Path DIR = Path.of("/run/svcmove-criu");

    private KernelCache() {}

    /** Makes DIR a root-only tmpfs if it is not one. A failure only costs speed: it is logged, not thrown. */
    public static void prepare() {
        try {
            Files.createDirectories(DIR, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            if (Files.getFileStore(DIR).type().equals("tmpfs")) {
                return;
            }
            Process p = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "svcmove-criu", DIR.toString())
                    .redirectErrorStream(true).start();
            boolean done = p.waitFor(10, TimeUnit.SECONDS);
            String out = new String(p.getInputStream().readAllBytes()).trim();
            if (!done || p.exitValue() != 0) {
                p.destroyForcibly();
                log.warn("no tmpfs at {} ({}): CRIU probes the kernel on every dump and restore (about 20 ms each)", DIR, out);
            } else {
                log.info("mounted a tmpfs at {} for CRIU's kernel cache", DIR);
            }
        } catch (IOException e) {
            log.warn("no tmpfs at {} ({}): CRIU probes the kernel on every dump and restore (about 20 ms each)", DIR, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
