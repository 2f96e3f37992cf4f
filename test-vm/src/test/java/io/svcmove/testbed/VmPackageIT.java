package io.svcmove.testbed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Issue 14: taking svcmove off a server. `apt-get remove svcmove` on a node that runs a service is
 * refused, naming the service and what to do, and changes nothing; once the service is stopped,
 * `apt-get purge svcmove` leaves no unit, socket, state, configuration or cell. The node then gets
 * svcmove back (the same .deb, its saved /etc/svcmove) for the tests after this one.
 */
@WithTestBed
class VmPackageIT {
    private static final Duration LONG = Duration.ofSeconds(300);
    private static final String NAME = "itpkg";

    @Test
    void removalIsRefusedWhileAServiceRunsAndPurgeLeavesNothing(TestBed bed) throws Exception {
        assumeTrue(bed.isVm(), "a VM bed test (SVCMOVE_BED=vm)");
        String n = bed.nodes().get(bed.nodes().size() - 1);
        Path deb;
        try (Stream<Path> s = Files.find(bed.checkout().resolve("build"), 3, (p, a) -> p.getFileName().toString().matches("svcmove_.*\\.deb"))) {
            deb = s.findFirst().orElse(null);
        }
        assumeTrue(deb != null, "the nodes were installed from a .deb (make deb)");
        Path shared = Path.of(bed.status().shared().hostDir(), "itpkg-svcmove.deb");
        Files.copy(deb, shared, StandardCopyOption.REPLACE_EXISTING);
        // The node's configuration, and its class-data archive: postinst keeps one the JVM still accepts
        // for the same jar, which spares the reinstall minutes of emulated CPU.
        bed.exec(n, LONG, "tar", "-C", "/", "-czf", "/root/itpkg-etc.tgz", "etc/svcmove", "var/cache/svcmove").requireOk();
        boolean purged = false;
        try {
            Services.run(bed, n, NAME, bed.nextVip(), "python3", "-c", "import time\ntime.sleep(3600)");
            ExecResult refused = bed.exec(n, LONG, "apt-get", "remove", "-y", "svcmove");
            assertNotEquals(0, refused.exitCode(), "apt-get remove with a service running:\n" + refused.describe());
            // apt-get hands dpkg's maintainer scripts one terminal for both streams: the refusal is in its stdout.
            String said = refused.stdout() + refused.stderr();
            assertTrue(said.contains("refusing to remove svcmove") && said.contains(NAME) && said.contains("svcmove drain"),
                    "the refusal names the service and the fix:\n" + refused.describe());
            assertTrue(bed.exec(n, LONG, "dpkg-query", "-W", "-f", "${Status}", "svcmove").stdout().contains("install ok installed"),
                    "the package is still installed");
            assertEquals(Map.of(n, "running"), Services.whereIs(bed, NAME), "the service still runs");

            bed.svcmove(n, "stop", NAME).requireOk();
            ExecResult purge = bed.exec(n, LONG, "apt-get", "purge", "-y", "svcmove");
            assertEquals(0, purge.exitCode(), "apt-get purge with no service:\n" + purge.describe());
            purged = true;
            String left = bed.exec(n, LONG, "sh", "-c", "ls -d /etc/svcmove /var/lib/svcmove /var/log/svcmove /run/svcmove /run/svcmove-criu"
                    + " /lib/systemd/system/svcmove-agent.service /etc/systemd/system/multi-user.target.wants/svcmove-agent.service"
                    + " /usr/bin/svcmove /usr/lib/svcmove 2>/dev/null; ip netns list; systemctl show -p ActiveState --value svcmove-agent").stdout();
            assertEquals(List.of("inactive"), left.lines().filter(l -> !l.isBlank()).toList(),
                    "after the purge nothing named svcmove is left, no cell, the unit gone:\n" + left);
        } finally {
            if (purged) {
                bed.exec(n, LONG, "sh", "-c", "tar -C / -xzf /root/itpkg-etc.tgz var/cache/svcmove && dpkg -i " + bed.status().shared().path()
                        + "/itpkg-svcmove.deb >/root/itpkg-dpkg.log 2>&1 && tar -C / -xzf /root/itpkg-etc.tgz etc/svcmove"
                        + " && systemctl enable --now svcmove-agent").requireOk();
                Wait.until(LONG, n + "'s agent answers again", () -> bed.svcmove(n, "status").ok());
            } else {
                Services.stopEverywhere(bed, NAME);
            }
            Files.deleteIfExists(shared);
            bed.exec(n, LONG, "rm", "-f", "/root/itpkg-etc.tgz");
        }
        assertFalse(Services.on(bed, n).containsKey(NAME), n + " is back without the service");
    }
}
