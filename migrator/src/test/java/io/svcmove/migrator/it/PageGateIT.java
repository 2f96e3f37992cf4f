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
 * injection at the `pages` boundary, after the restore, while its CRIU serves the memory: a third
 * node of the cluster, with its own valid cluster certificate, does not reach the page server's
 * port at all; the move then completes, the source's log counts the refused attempts, and the
 * rule is gone. (What the page server's TLS accepts is PageServerTrustIT's part.)
 */
@WithTestBed
class PageGateIT {
    /** 256 MB, every page written: enough pages to be served while the move is held. */
    private static final String HOG = "import time\n"
            + "b = bytearray(256 << 20)\n"
            + "b[::4096] = b'x' * len(range(0, len(b), 4096))\n"
            + "time.sleep(3600)\n";
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
            Files.writeString(fault, "stall pages\n");
            try (Background move = bed.startBackground(n1, bed.checkout().resolve("bin/svcmove").toString(), name, n2,
                    "--mode", "lazy", "--json")) {
                Wait.until(MOVE_BOUND, "the move is held at pages, its memory being served",
                        () -> Files.exists(reached) || !move.isAlive());
                assertTrue(move.isAlive(), "the move was held: " + move.output());
                String log = Agents.logSince(bed, n1, mark);
                Matcher served = Pattern.compile("page server ([0-9.]+):(\\d+) accepts only " + n2 + " from ([0-9.]+)").matcher(log);
                assertTrue(served.find(), "the source says whom its page server is for:\n" + log);
                assertEquals(bed.address(n2), served.group(3), "the destination's address");

                AgentConfig third = AgentConfig.load(Path.of(Agents.of(bed, n3).config()));
                ExecResult probe = bed.exec(n3, Duration.ofSeconds(20), "timeout", "5", "openssl", "s_client", "-connect",
                        served.group(1) + ":" + served.group(2), "-cert", third.tls().cert(), "-key", third.tls().key(), "-CAfile",
                        third.tls().ca());
                System.out.println("PageGateIT: " + n3 + " tried the page server: exit " + probe.exitCode() + ": "
                        + (probe.stdout() + probe.stderr()).strip());
                assertNotEquals(0, probe.exitCode(), probe.describe());
                assertFalse(probe.stdout().contains("CONNECTED"), n3 + " got no connection: " + probe.describe());

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
}
