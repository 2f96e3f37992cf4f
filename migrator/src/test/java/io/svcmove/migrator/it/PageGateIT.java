package io.svcmove.migrator.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.svcmove.migrator.config.AgentConfig;
import io.svcmove.testbed.Background;
import io.svcmove.testbed.ExecResult;
import io.svcmove.testbed.Services;
import io.svcmove.testbed.TestBed;
import io.svcmove.testbed.Wait;
import io.svcmove.testbed.WithTestBed;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Issue 18: a lazy move's pages are for its destination only. The source is held by fault
 * injection at the `restore` boundary: the dump is done and its CRIU listens, the destination has
 * not connected yet. node3's certificate (valid, from the cluster CA) is tried from node3's address,
 * which does not reach the port at all, and from the destination's, where CRIU refuses it and
 * listens on; the move then completes, the source's log counts the attempts its rule refused, and
 * the rule is gone. (Every kind of certificate against the page server: PageServerTrustIT.)
 */
@WithTestBed
class PageGateIT {
    /** 256 MB, every page written: enough pages to be served while the move is held. */
    private static final String HOG = It.memoryHog(256);
    private static final Duration MOVE_BOUND = Duration.ofSeconds(120);

    @Test
    void aThirdNodeDoesNotReachTheMovesPageServer(TestBed bed) throws Exception {
        String n1 = It.node(bed, 0);
        String n2 = It.node(bed, 1);
        String n3 = It.node(bed, 2);
        String name = "itpagegate";
        Path fault = Files.createTempFile("svcmove-pagegate-fault-", "");
        Path reached = Path.of(fault + ".reached");
        Path release = Path.of(fault + ".release");
        Files.delete(fault);
        Agents.kill(bed, n1, "TERM");
        Agents.start(bed, n1, Agents.of(bed, n1).config(), "SVCMOVE_FAULTS=" + fault);
        try {
            ExecResult run = bed.svcmove(n1, "run", name, "--vip", It.cidr(bed, bed.nextVip()), "--", "python3", "-c", HOG);
            assertEquals(0, run.exitCode(), run.describe());
            long mark = Agents.logMark(bed, n1);
            Files.writeString(fault, "stall restore\n");
            try (Background move = bed.startBackground(n1, bed.checkout().resolve("bin/svcmove").toString(), name, n2,
                    "--mode", "lazy", "--json")) {
                Wait.until(MOVE_BOUND, "the move is held before the restore, its pages ready to be served",
                        () -> Files.exists(reached) || !move.isAlive());
                assertTrue(move.isAlive(), "the move was held: " + move.output());
                String log = Agents.logSince(bed, n1, mark);
                Matcher served = Pattern.compile("page server ([0-9.]+):(\\d+) accepts only " + n2 + " from ([0-9.]+)").matcher(log);
                assertTrue(served.find(), "the source says whom its page server is for:\n" + log);
                assertEquals(bed.address(n2), served.group(3), "the destination's address");

                String server = served.group(1) + ":" + served.group(2);
                Wait.until(It.SHORT, "CRIU's page server listens on " + server, () -> bed.exec(n1, It.SHORT, "ss", "-Hltn",
                        "sport = :" + served.group(2)).stdout().contains(server));

                AgentConfig third = AgentConfig.load(Path.of(Agents.of(bed, n3).config()));
                ExecResult fromThird = tryPages(bed, n3, server, third);
                assertNotEquals(0, fromThird.exitCode(), fromThird.describe());
                assertFalse(fromThird.stdout().contains("CONNECTED"), n3 + " got no connection: " + fromThird.describe());

                Path dumpLog = dumpLog(name);
                tryPages(bed, n2, server, third);
                Wait.until(It.SHORT, "the source's CRIU refuses node3's certificate from " + n2 + "'s address",
                        () -> read(dumpLog).contains("Refused a page server client"));
                assertTrue(read(dumpLog).contains("The certificate is NOT trusted"), "refused for its certificate:\n" + read(dumpLog));

                Files.writeString(release, "");
                Wait.until(MOVE_BOUND, "the move returns", () -> !move.isAlive());
                int exit = move.stop();
                assertEquals(0, exit, "the move completes all the same: " + move.output());
            }
            assertEquals(Map.of(n2, "running"), Services.whereIs(bed, name), "one node runs it");
            String log = Agents.logSince(bed, n1, mark);
            Matcher refused = Pattern.compile("the page server refused (\\d+) connection attempts from addresses other than " + n2
                    + "'s").matcher(log);
            assertTrue(refused.find() && Long.parseLong(refused.group(1)) >= 1, "the source counts what it refused:\n" + log);
            System.out.println("PageGateIT: " + refused.group());
            String tables = bed.exec(n1, It.SHORT, "nft", "list", "tables").requireOk().stdout();
            assertFalse(tables.contains("svcmove_pages_"), "the rule went with the move: " + tables);
        } finally {
            Services.stopEverywhere(bed, name);
            Agents.restartNormally(bed, n1);
            for (String f : List.of("", ".fired", ".reached", ".release")) {
                Files.deleteIfExists(Path.of(fault + f));
            }
        }
    }

    /** openssl s_client from HOST to the page server at SERVER, with the node certificate of CONFIG; it leaves at once. */
    private static ExecResult tryPages(TestBed bed, String host, String server, AgentConfig config) {
        ExecResult r = bed.exec(host, Duration.ofSeconds(20), "timeout", "5", "openssl", "s_client", "-connect", server, "-cert",
                config.tls().cert(), "-key", config.tls().key(), "-CAfile", config.tls().ca());
        System.out.println("PageGateIT: from " + host + ", with " + config.node() + "'s certificate: exit " + r.exitCode() + ", "
                + (r.stdout().contains("CONNECTED") ? "connected" : "no connection"));
        return r;
    }

    /** The log of the move's dump on the source: in its image directory on tmpfs (svcmove-NODE-MOVEID-…). */
    private static Path dumpLog(String name) throws IOException {
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(Path.of("/dev/shm"), "svcmove-*-" + name + "-*")) {
            for (Path d : dirs) {
                if (Files.exists(d.resolve("dump.log"))) {
                    return d.resolve("dump.log");
                }
            }
        }
        throw new AssertionError("no dump.log of a move of " + name + " in /dev/shm");
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
