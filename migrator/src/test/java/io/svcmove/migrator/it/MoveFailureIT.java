package io.svcmove.migrator.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.svcmove.testbed.Background;
import io.svcmove.testbed.ExecResult;
import io.svcmove.testbed.Services;
import io.svcmove.testbed.TestBed;
import io.svcmove.testbed.Wait;
import io.svcmove.testbed.WithTestBed;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Issue 4: moves that fail. Each time a client is downloading from the service when the move is
 * asked; the service must keep running and answering on the source, the download must complete
 * identical, and the CLI must say what happened with the documented exit code.
 */
@WithTestBed
class MoveFailureIT {
    /** 24 MB at 2 MB/s: about 12 s, longer than a refused move and the checks after it. */
    private static final int SMALL_MB = 24;
    private static final String RATE = "2m";
    private static final Duration DOWNLOAD_END = Duration.ofSeconds(90);
    /** Of the 400 MB tree's pages: the destination is killed once this much has reached it. */
    private static final int STREAMED_MB = 16;

    /**
     * Eager: killed while the memory is on its way, streamed into the destination's page server during
     * the dump (so before the transfer of the other images). Lazy (issue 9): killed before the restore, while
     * the source's CRIU holds the tree to serve its pages; the rollback must take the sockets out of
     * repair mode before it lets CRIU go, or the service would run on with them and reset them. A
     * lazy move's images (1 MB) go in milliseconds, so the source is stopped at the boundary before
     * the restore (fault injection) while the destination is killed: a kill timed on the log could
     * land after the restore request and leave the outcome rightly unknown (exit 6).
     */
    @ParameterizedTest(name = "--mode {0}")
    @ValueSource(strings = {"eager", "lazy"})
    void destinationAgentKilledDuringTheTransferRollsBack(String mode, TestBed bed) throws Exception {
        String n1 = It.node(bed, 0);
        String n2 = It.node(bed, 1);
        String name = "itkill" + mode;
        boolean lazy = mode.equals("lazy");
        Path fault = Files.createTempFile("svcmove-fault-", "");
        if (lazy) {
            Agents.kill(bed, n1, "TERM");
            Agents.start(bed, n1, Agents.of(bed, n1).config(), "SVCMOVE_FAULTS=" + fault);
            Files.writeString(fault, "stall restore\n");
        }
        // A tree of about 400 MB: the transfer takes seconds, long enough to kill the destination in it.
        try (Site site = new Site(bed, name, bed.nextVip(), RATE).withBigFile(40)) {
            String hog = "b=bytearray(400<<20); b[::4096]=b'x'*len(b[::4096]); import time; time.sleep(3600)";
            site.start(n1, List.of("/bin/bash", "-c",
                    "python3 -c \"" + hog + "\" & exec /usr/sbin/nginx -c " + site.conf));
            Wait.until(Duration.ofSeconds(30), "the service's tree holds 400 MB", () -> rssKb(bed, n1, name) > 390 * 1024);
            try (Download download = Download.start(site)) {
                long mark = Agents.logMark(bed, n2);
                String seen;
                ExecResult moved;
                try (Background move = bed.startBackground(n1, bed.checkout().resolve("bin/svcmove").toString(),
                        name, n2, "--mode", mode, "--json")) {
                    Path reached = Path.of(fault + ".reached");
                    Wait.until(Duration.ofSeconds(40), lazy ? "the move reaches the restore (" + reached + "); it printed: "
                            + move.output() : "the pages stream into " + n2 + "'s page server (" + STREAMED_MB + " MB in its "
                            + "streamed-pages); the move printed: " + move.output(), () -> !move.isAlive()
                            || (lazy ? Files.exists(reached) : streamedBytes(n2, name) >= STREAMED_MB << 20));
                    assertTrue(move.isAlive(), "the move still runs when the destination is killed; it printed: " + move.output());
                    Agents.kill(bed, n2, "KILL");
                    if (lazy) {
                        Files.writeString(Path.of(fault + ".release"), "");
                    }
                    seen = Agents.logSince(bed, n2, mark);
                    assertTrue(move.handle().onExit().get(60, TimeUnit.SECONDS) != null, "the move ended");
                    moved = new ExecResult(move.command(), move.stop(), move.output(), "", false);
                } finally {
                    Agents.ensureRunning(bed, n2);
                }
                assertFalse(seen.contains("received transfer") && !lazy, "the agent was killed while the pages streamed, before"
                        + " the transfer of the other images; its log until then:\n" + seen);
                assertEquals(4, moved.exitCode(), "move with the destination killed " + (lazy ? "before the restore" : "while the pages streamed")
                        + ":\n" + moved.describe());
                assertTrue(moved.stdout().contains("rolled back") && moved.stdout().contains("still runs on " + n1),
                        "the message says the move was rolled back and the service still runs on " + n1 + ":\n"
                                + moved.describe());

                // The restarted agent removed the half-made cell (no service record owns it).
                assertFalse(Services.cells(bed).contains(n2 + "." + name), "the half-made cell " + n2 + "." + name
                        + " is gone after " + n2 + "'s agent restarted: " + Services.cells(bed) + "; its log:\n"
                        + Agents.logSince(bed, n2, mark));
                assertStillOnSource(bed, site, n1, download);
            }
        } finally {
            removeImagesLeftBy(name);
            if (lazy) {
                Agents.restartNormally(bed, n1);
            }
            for (String f : List.of("", ".fired", ".reached", ".release")) {
                Files.deleteIfExists(Path.of(fault + f));
            }
        }
    }

    @Test
    void destinationWithTheVipOnItsOwnInterfaceRefuses(TestBed bed) {
        String n1 = It.node(bed, 0);
        String n2 = It.node(bed, 1);
        try (Site site = new Site(bed, "itvipuse", bed.nextVip(), RATE).withBigFile(SMALL_MB)) {
            site.start(n1);
            String addr = It.cidr(bed, site.vip);
            try (Download download = Download.start(site)) {
                bed.exec(n2, It.SHORT, "ip", "addr", "add", addr, "dev", "eth0").requireOk();
                ExecResult r;
                try {
                    r = bed.svcmove(n1, site.name, n2);
                } finally {
                    bed.exec(n2, It.SHORT, "ip", "addr", "del", addr, "dev", "eth0");
                }
                assertEquals(3, r.exitCode(), "move to a node that has the VIP on its eth0:\n" + r.describe());
                assertTrue(r.stderr().contains(site.vip), "the message names the VIP " + site.vip + ":\n" + r.describe());
                assertStillOnSource(bed, site, n1, download);
            }
        }
    }

    @Test
    void destinationWithoutCriuRefuses(TestBed bed) {
        String n1 = It.node(bed, 0);
        String n2 = It.node(bed, 1);
        try (Site site = new Site(bed, "itnocriu", bed.nextVip(), RATE).withBigFile(SMALL_MB)) {
            site.start(n1);
            Agents.kill(bed, n2, "TERM");
            try {
                Agents.start(bed, n2, Agents.of(bed, n2).config(), "SVCMOVE_CRIU=/nonexistent/criu");
                JsonNode peer = Services.node(bed, n1, n2);
                assertEquals("missing", peer.path("criu").asText(), n2 + "'s criu in `nodes --json` on " + n1 + ": " + peer);
                try (Download download = Download.start(site)) {
                    ExecResult r = bed.svcmove(n1, site.name, n2);
                    assertEquals(3, r.exitCode(), "move to a node without CRIU:\n" + r.describe());
                    assertTrue(r.stderr().contains("CRIU is missing") && r.stderr().contains(n2),
                            "the message says CRIU is missing on " + n2 + ":\n" + r.describe());
                    assertStillOnSource(bed, site, n1, download);
                }
            } finally {
                Agents.restartNormally(bed, n2);
            }
            JsonNode peer = Services.node(bed, n1, n2);
            assertFalse(peer.path("criu").asText().equals("missing"), "criu of " + n2 + " after a normal restart: " + peer);
        }
    }

    @Test
    void unknownNodeAndUnknownServiceChangeNothing(TestBed bed) {
        String n1 = It.node(bed, 0);
        String n2 = It.node(bed, 1);
        try (Site site = new Site(bed, "itunknown", bed.nextVip(), RATE).withBigFile(SMALL_MB)) {
            site.start(n1);
            try (Download download = Download.start(site)) {
                String ghostNode = bed.prefix() + "node99";
                ExecResult r = bed.svcmove(n1, site.name, ghostNode);
                assertEquals(5, r.exitCode(), "move to an unknown node:\n" + r.describe());
                assertTrue(r.stderr().contains(ghostNode), "the message names " + ghostNode + ":\n" + r.describe());

                r = bed.svcmove(n1, "itnosuchservice", n2);
                assertEquals(5, r.exitCode(), "move of an unknown service:\n" + r.describe());
                assertTrue(r.stderr().contains("itnosuchservice"), "the message names the service:\n" + r.describe());
                assertStillOnSource(bed, site, n1, download);
            }
        }
    }

    @Test
    void unreachableDestinationRefuses(TestBed bed) {
        String n1 = It.node(bed, 0);
        String n2 = It.node(bed, 1);
        try (Site site = new Site(bed, "itunreach", bed.nextVip(), RATE).withBigFile(SMALL_MB)) {
            site.start(n1);
            try (Download download = Download.start(site)) {
                ExecResult r;
                Agents.kill(bed, n2, "TERM");
                try {
                    r = bed.svcmove(n1, site.name, n2);
                } finally {
                    Agents.start(bed, n2);
                }
                assertEquals(3, r.exitCode(), "move to a node whose agent is down:\n" + r.describe());
                assertTrue(r.stderr().contains("unreachable") && r.stderr().contains(n2),
                        "the message says " + n2 + " is unreachable:\n" + r.describe());
                assertStillOnSource(bed, site, n1, download);
            }
        }
    }

    @Test
    void peerWithACertificateFromAnotherCaIsNotTrusted(TestBed bed) throws IOException {
        String n1 = It.node(bed, 0);
        String n2 = It.node(bed, 1);
        Path otherCa = Files.createTempDirectory("svcmove-it-otherca-");
        String bin = bed.checkout().resolve("bin/svcmove").toString();
        try (Site site = new Site(bed, "itotherca", bed.nextVip(), RATE).withBigFile(SMALL_MB)) {
            bed.execOutside(Duration.ofSeconds(60), bin, "cert", "ca", "--dir", otherCa.toString()).requireOk();
            bed.execOutside(Duration.ofSeconds(60), bin, "cert", "node", n2, "--dir", otherCa.toString(),
                    "--ip", bed.address(n2)).requireOk();
            Path config = otherCa.resolve("agent.toml");
            Files.writeString(config, Files.readString(Path.of(Agents.of(bed, n2).config()))
                    .replaceAll("(?m)^ca\\s*=.*$", "ca = \"" + otherCa.resolve("ca.crt") + "\"")
                    .replaceAll("(?m)^cert\\s*=.*$", "cert = \"" + otherCa.resolve(n2 + ".crt") + "\"")
                    .replaceAll("(?m)^key\\s*=.*$", "key = \"" + otherCa.resolve(n2 + ".key") + "\""));
            site.start(n1);
            Agents.kill(bed, n2, "TERM");
            try {
                Agents.start(bed, n2, config.toString());
                JsonNode peer = Services.node(bed, n1, n2);
                assertFalse(peer.path("reachable").asBoolean(true), n2 + " in `nodes --json` on " + n1 + ": " + peer);
                assertTrue(peer.path("error").asText().contains("certificate"),
                        "the error about " + n2 + " mentions its certificate: " + peer);
                try (Download download = Download.start(site)) {
                    ExecResult r = bed.svcmove(n1, site.name, n2);
                    assertEquals(3, r.exitCode(), "move to a peer with another CA's certificate:\n" + r.describe());
                    assertTrue(r.stderr().contains("certificate"), "the message mentions the certificate:\n" + r.describe());
                    assertStillOnSource(bed, site, n1, download);
                }
            } finally {
                Agents.restartNormally(bed, n2);
            }
            assertTrue(Services.node(bed, n1, n2).path("reachable").asBoolean(false), n2 + " is trusted again after a normal restart");
        } finally {
            It.deleteTree(otherCa);
        }
    }

    /** The service runs on FROM only, answers, and the download goes on and completes identical. */
    private static void assertStillOnSource(TestBed bed, Site site, String from, Download download) {
        assertEquals(Map.of(from, "running"), Services.whereIs(bed, site.name), "the nodes that list " + site.name);
        assertEquals(List.of(from + "." + site.name),
                Services.cells(bed).stream().filter(c -> c.endsWith("." + site.name)).toList(), "cells of " + site.name);
        assertEquals("200", It.httpCode(bed, site.url("index.html")), site.name + " answers at " + site.vip);
        assertTrue(download.running(), "the download is still under way after the failed move: " + download.describe());
        download.assertCompletes(DOWNLOAD_END);
    }

    /** Resident memory of the service's processes (host view), in kB. */
    private static long rssKb(TestBed bed, String node, String name) {
        JsonNode svc = Services.on(bed, node).get(name);
        long kb = 0;
        if (svc == null) {
            return 0;
        }
        for (JsonNode pid : svc.path("pids")) {
            try {
                for (String line : Files.readAllLines(Path.of("/proc/" + pid.asLong() + "/status"))) {
                    if (line.startsWith("VmRSS:")) {
                        kb += Long.parseLong(line.replaceAll("\\D", ""));
                    }
                }
            } catch (IOException | NumberFormatException e) {
                // gone or unreadable: counts as nothing
            }
        }
        return kb;
    }

    /** What the page server of NODE's incoming move of NAME has written so far (0 before it starts). */
    private static long streamedBytes(String node, String name) {
        long bytes = 0;
        try (DirectoryStream<Path> moves = Files.newDirectoryStream(Path.of("/dev/shm"), "svcmove-" + node + "-" + name + "-*")) {
            for (Path move : moves) {
                try (DirectoryStream<Path> pages = Files.newDirectoryStream(move.resolve("streamed-pages"), "pages-*.img")) {
                    for (Path p : pages) {
                        bytes += Files.size(p);
                    }
                }
            }
        } catch (IOException e) {
            // not there yet, or gone with its move
        }
        return bytes;
    }

    /**
     * The killed destination leaves its half-received images in /dev/shm (svcmove-NODE-NAME-MOVEID-*),
     * which its restarted agent removes; a test that fails before that restart would leave them, and
     * they hold process memory: remove ours.
     */
    private static void removeImagesLeftBy(String name) {
        try (DirectoryStream<Path> left = Files.newDirectoryStream(Path.of("/dev/shm"), "svcmove-*-" + name + "-*")) {
            for (Path p : left) {
                System.err.println("MoveFailureIT: removing images a move left behind: " + p);
                It.deleteTree(p);
            }
        } catch (IOException e) {
            // nothing to clean
        }
    }
}
