package io.svcmove.migrator.failover;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.svcmove.migrator.it.Agents;
import io.svcmove.testbed.ExecResult;
import io.svcmove.testbed.TestBed;
import io.svcmove.testbed.WithTestBed;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Issue 8, failover from checkpoints: a counter service checkpointed every few seconds to another
 * node; its node dies (agent and cell SIGKILLed, cell gone); `svcmove recover` brings it up on a
 * third node from the checkpoint: same VIP and DNS name, the counter as of the checkpoint, the
 * connection open at the checkpoint closed. Issue 18: the checkpoint is encrypted: the keeper's disk
 * shows none of the service's memory, the keeper cannot recover it, a tampered one is refused.
 */
@WithTestBed
class FailoverIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration SHORT = Duration.ofSeconds(20);

    /**
     * Counts requests over all connections: each byte received is answered with the new count; "m"
     * is answered with the marker of argv[1], which it also holds many times over in its memory.
     */
    private static final String COUNTER = """
            import socket, sys, threading
            marker = sys.argv[1].encode() if len(sys.argv) > 1 else b""
            held = marker * 4096
            n = 0
            lock = threading.Lock()
            def serve(c):
                global n
                try:
                    while True:
                        d = c.recv(100)
                        if not d:
                            break
                        if d == b"m":
                            c.sendall(held[:len(marker)] + b"\\n")
                            continue
                        with lock:
                            n += 1
                            v = n
                        c.sendall(b"%d\\n" % v)
                except OSError:
                    pass
                c.close()
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("0.0.0.0", 8080))
            s.listen(16)
            while True:
                c, _ = s.accept()
                threading.Thread(target=serve, args=(c,), daemon=True).start()
            """;

    /**
     * HOST COUNT [TRIGGER]: COUNT requests on one connection, printed (COUNT 0: the service's marker
     * instead); with TRIGGER, then writes
     * TRIGGER.ready and, once TRIGGER exists, tries one more on the same connection.
     */
    private static final String CLIENT = """
            import os, socket, sys, time
            s = socket.create_connection((sys.argv[1], 8080), timeout=10)
            out = []
            for i in range(int(sys.argv[2])):
                s.sendall(b"x")
                out.append(s.recv(100).decode().strip())
            print(" ".join(out), flush=True)
            if sys.argv[2] == "0":
                s.sendall(b"m")
                print(s.recv(200).decode().strip())
            if len(sys.argv) > 3:
                open(sys.argv[3] + ".ready", "w").close()
                for i in range(600):
                    if os.path.exists(sys.argv[3]):
                        break
                    time.sleep(0.1)
                try:
                    s.sendall(b"x")
                    d = s.recv(100)
                    print("after: " + ("closed" if not d else d.decode().strip()))
                except OSError as e:
                    print("after: closed (" + type(e).__name__ + ")")
            """;

    @Test
    void aLostNodesServiceComesBackFromItsCheckpoint(TestBed bed) throws Exception {
        String n1 = bed.nodes().get(0);
        String n2 = bed.nodes().get(1);
        String n3 = bed.nodes().get(2);
        String vip = bed.nextVip();
        String name = "ftctr";
        String host = name + "." + bed.zone().replaceAll("\\.$", "");
        Path dir = Files.createTempDirectory("failover-it");
        Path counter = Files.writeString(dir.resolve("counter.py"), COUNTER);
        Path client = Files.writeString(dir.resolve("client.py"), CLIENT);
        Path trigger = dir.resolve("recovered");
        String marker = "svcmove-marker-" + UUID.randomUUID();
        boolean n1Dead = false;
        try {
            ok(bed.svcmove(n1, "run", name, "--vip", vip + "/" + bed.prefixLength(), "--dns", name, "--checkpoint-every", "4s",
                    "--", "python3", "-u", counter.toString(), marker));
            awaitListening(bed, vip);
            assertEquals(marker, ok(bed.exec(bed.client(), SHORT, "python3", client.toString(), vip, "0")).stdout().trim(),
                    "the service holds its marker");
            assertEquals("1 2 3 4 5", ok(bed.exec(bed.client(), SHORT, "python3", client.toString(), host, "5")).stdout().trim());
            CompletableFuture<ExecResult> held = CompletableFuture.supplyAsync(() -> bed.exec(bed.client(), Duration.ofSeconds(120),
                    "python3", client.toString(), vip, "3", trigger.toString()));
            Path ready = Path.of(trigger + ".ready");
            for (int i = 0; i < 100 && !Files.exists(ready); i++) {
                sleep(100);
            }
            assertTrue(Files.exists(ready), "the held connection made its 3 requests");
            long afterHeld = System.currentTimeMillis();
            JsonNode checkpoint = awaitCheckpointAfter(bed, n1, name, afterHeld);
            assertEquals(n2, checkpoint.path("keeper").asText(), "the keeper: n1's first peer, in " + checkpoint);
            assertKeptEncrypted(bed, n2, name, marker, List.of(n1, n3));
            // Served after the checkpoint: lost with the node.
            assertEquals("9 10 11 12", ok(bed.exec(bed.client(), SHORT, "python3", client.toString(), vip, "4")).stdout().trim());

            killNode(bed, n1, name);
            n1Dead = true;
            ExecResult onKeeper = bed.svcmove(n2, "recover", name);
            assertEquals(3, onKeeper.exitCode(), "the keeper cannot open what it keeps:\n" + onKeeper.describe());
            assertTrue(onKeeper.stderr().contains("is sealed to " + n1 + ", " + n3 + ", not to " + n2)
                    && onKeeper.stderr().contains("--on " + n3), onKeeper.describe());
            ExecResult rec = bed.svcmove(n2, "recover", name, "--on", n3, "--json");
            assertEquals(0, rec.exitCode(), "recover on " + n3 + ":\n" + rec.describe());
            JsonNode r = JSON.readTree(rec.stdout());
            assertEquals(n3, r.path("node").asText(), "node in " + r);
            assertEquals(n2, r.path("keeper").asText(), "keeper in " + r);
            System.out.printf("failover: checkpoint frozen %.1f ms, %d bytes; recover %s%n", checkpoint.path("freeze_ms").asDouble(),
                    checkpoint.path("bytes").asLong(), r);

            // The same name and VIP; the state of the checkpoint (8), not the last served (12).
            assertEquals("9", ok(bed.exec(bed.client(), SHORT, "python3", client.toString(), host, "1")).stdout().trim(),
                    "the first answer after recovery, by the DNS name");
            assertEquals(marker, ok(bed.exec(bed.client(), SHORT, "python3", client.toString(), vip, "0")).stdout().trim(),
                    "the recovered service holds its marker");
            Files.writeString(trigger, "");
            ExecResult heldOut = held.get(60, TimeUnit.SECONDS);
            assertTrue(heldOut.stdout().startsWith("6 7 8\nafter: closed"), "the connection open at the checkpoint comes back closed:\n"
                    + heldOut.describe());
            JsonNode status = JSON.readTree(ok(bed.svcmove(n3, "status", name, "--json")).stdout());
            assertEquals("running", status.path("state").asText(), "status on " + n3 + ": " + status);
            assertEquals(4, status.path("checkpoint_every_s").asLong(), "it is still checkpointed: " + status);

            // The lost node comes back: its agent finds the record of a service that is not its own any more and
            // runs on n3, and drops it (neither restarts it nor claims its VIP).
            Agents.start(bed, n1, Agents.of(bed, n1).config());
            n1Dead = false;
            for (int i = 0; i < 150 && hasRecord(bed, n1, name); i++) {
                sleep(200);
            }
            assertFalse(hasRecord(bed, n1, name), n1 + " dropped its stale record of " + name + " (it runs on " + n3 + ")");
            assertEquals("10", ok(bed.exec(bed.client(), SHORT, "python3", client.toString(), host, "1")).stdout().trim(),
                    n3 + "'s copy answers on");
        } finally {
            if (n1Dead) {
                Agents.start(bed, n1, Agents.of(bed, n1).config());
                bed.svcmove(n1, "stop", name); // its dead record
            }
            for (String n : bed.nodes()) {
                bed.svcmove(n, "stop", name);
            }
            Files.deleteIfExists(counter);
            Files.deleteIfExists(client);
            Files.deleteIfExists(trigger);
            Files.deleteIfExists(Path.of(trigger + ".ready"));
            Files.deleteIfExists(dir);
        }
    }

    /**
     * A byte of the checkpoint changed on the keeper's disk: recover refuses it, naming the service,
     * the keeper and the file, and starts nothing.
     */
    @Test
    void aTamperedCheckpointIsRefused(TestBed bed) throws Exception {
        List<String> nodes = bed.nodes();
        String source = nodes.get(0);
        String keeper = nodes.get(1);
        String target = nodes.get(2);
        String name = "ftbad";
        Path counter = Files.writeString(Files.createTempFile("failover-it", ".py"), COUNTER);
        Path kept = stateDir(bed, keeper).resolve("checkpoints").resolve(name);
        boolean sourceDead = false;
        try {
            ok(bed.svcmove(source, "run", name, "--vip", bed.nextVip() + "/" + bed.prefixLength(), "--checkpoint-every", "1h",
                    "--", "python3", "-u", counter.toString()));
            awaitCheckpointAfter(bed, source, name, 0);
            killNode(bed, source, name);
            sourceDead = true;
            Path pages;
            try (Stream<Path> files = Files.list(kept)) {
                pages = files.filter(f -> f.getFileName().toString().startsWith("pages-")).max(Comparator.comparingLong(f -> f.toFile().length()))
                        .orElseThrow(() -> new AssertionError("no pages image in " + kept));
            }
            byte[] b = Files.readAllBytes(pages);
            b[b.length / 2] ^= 0x01;
            Files.write(pages, b);

            ExecResult rec = bed.svcmove(keeper, "recover", name, "--on", target);
            assertEquals(3, rec.exitCode(), "refused:\n" + rec.describe());
            assertTrue(rec.stderr().contains("the checkpoint of " + name + " kept on " + keeper + " does not authenticate")
                    && rec.stderr().contains(pages.getFileName() + ": chunk "), rec.describe());
            assertFalse(ok(bed.execOutside(SHORT, "ip", "netns", "list")).stdout().contains(target + "." + name),
                    "no cell of " + name + " on " + target);
            assertFalse(hasRecord(bed, target, name), "no record of " + name + " on " + target);
        } finally {
            if (sourceDead) {
                Agents.start(bed, source, Agents.of(bed, source).config());
            }
            bed.svcmove(source, "stop", name);
            deleteCheckpoint(kept);
            Files.deleteIfExists(counter);
        }
    }

    @Test
    void recoverWithoutACheckpointSaysSo(TestBed bed) throws Exception {
        String n2 = bed.nodes().get(1);
        ExecResult r = bed.svcmove(bed.nodes().get(0), "recover", "ftnone", "--on", n2);
        assertEquals(5, r.exitCode(), r.describe());
        assertTrue(r.stderr().contains("no checkpoint of ftnone") && r.stderr().contains("--checkpoint-every"), r.describe());

        // The OCF start of a checkpointed resource with no checkpoint yet: a first start, anew.
        String vip = bed.nextVip();
        List<String> cmd = new ArrayList<>(List.of("env", "OCF_ROOT=/usr/lib/ocf", "OCF_RESOURCE_INSTANCE=ftocf",
                "OCF_RESKEY_vip=" + vip + "/" + bed.prefixLength(), "OCF_RESKEY_command=sleep 600", "OCF_RESKEY_checkpoint_every=1h",
                "OCF_RESKEY_binary=" + bed.checkout().resolve("bin/svcmove"), bed.checkout().resolve("migrator/ocf/svcmove").toString()));
        try {
            cmd.add("start");
            ExecResult start = bed.exec(n2, Duration.ofMinutes(2), cmd.toArray(String[]::new));
            assertEquals(0, start.exitCode(), start.describe());
            assertTrue(start.stderr().contains("no checkpoint of ftocf is kept: starting it anew"), start.describe());
            JsonNode s = JSON.readTree(ok(bed.svcmove(n2, "status", "ftocf", "--json")).stdout());
            assertEquals(3600, s.path("checkpoint_every_s").asLong(), "checkpointed: " + s);
        } finally {
            bed.svcmove(n2, "stop", "ftocf");
        }
    }

    /**
     * What KEEPER's disk holds of NAME's checkpoint, read with plain tools: files, none of which
     * shows MARKER (held many times over in the service's memory, and on its command line), and a
     * record saying the key is sealed to RECIPIENTS and not to the keeper.
     */
    private static void assertKeptEncrypted(TestBed bed, String keeper, String name, String marker, List<String> recipients)
            throws IOException {
        Path state = stateDir(bed, keeper);
        Path kept = state.resolve("checkpoints").resolve(name);
        ExecResult files = ok(bed.execOutside(SHORT, "find", "-L", kept.toString(), "-type", "f", "-size", "+0"));
        assertTrue(files.stdout().lines().count() >= 3 && files.stdout().contains("pages-"), "the checkpoint's files on " + keeper
                + ":\n" + files.describe());
        ExecResult grep = bed.execOutside(SHORT, "grep", "-r", "-a", "-c", "-F", marker, state.toString());
        assertEquals(1, grep.exitCode(), "grep finds the marker nowhere under " + state + " (exit 1, not 0 or 2):\n" + grep.describe());
        ExecResult big = ok(bed.execOutside(SHORT, "du", "-sbL", kept.toString()));
        System.out.printf("checkpoint on %s: %s files, %s bytes, no marker%n", keeper, files.stdout().lines().count(),
                big.stdout().split("\\s+")[0]);
        JsonNode meta = JSON.readTree(kept.resolve("svcmove-checkpoint.json").toFile());
        List<String> sealedTo = new ArrayList<>();
        meta.path("sealed_to").forEach(n -> sealedTo.add(n.path("node").asText()));
        assertEquals(recipients, sealedTo, "whom the key is sealed to, in " + meta);
        assertEquals(1, meta.path("format").asInt(), "format in " + meta);
    }

    /** The keeper forgets a checkpoint the test left (a dead record's stop keeps them). */
    private static void deleteCheckpoint(Path link) throws IOException {
        if (!Files.isSymbolicLink(link)) {
            return;
        }
        Path target = link.resolveSibling(Files.readSymbolicLink(link));
        Files.delete(link);
        try (Stream<Path> files = Files.list(target)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Files.delete(f);
            }
        }
        Files.delete(target);
    }

    /** NODE's agent's state_dir, from its agent.toml. */
    private static Path stateDir(TestBed bed, String node) throws IOException {
        Matcher m = Pattern.compile("(?m)^state_dir = \"([^\"]+)\"").matcher(Files.readString(Path.of(Agents.of(bed, node).config())));
        assertTrue(m.find(), "no state_dir in " + node + "'s agent.toml");
        return Path.of(m.group(1));
    }

    private static ExecResult ok(ExecResult r) {
        if (!r.ok()) {
            throw new AssertionError("failed:\n" + r.describe());
        }
        return r;
    }

    private static void awaitListening(TestBed bed, String vip) {
        for (int i = 0; i < 50; i++) {
            if (bed.exec(bed.client(), SHORT, "python3", "-c", "import socket; socket.create_connection(('" + vip + "', 8080), 2)").ok()) {
                return;
            }
            sleep(200);
        }
        throw new AssertionError(vip + ":8080 never answered");
    }

    /** Waits (bounded) for NODE's status to show a checkpoint of NAME taken after AFTER (ms since the epoch). */
    private static boolean hasRecord(TestBed bed, String node, String name) throws IOException {
        for (JsonNode s : JSON.readTree(ok(bed.svcmove(node, "status", "--json")).stdout()).path("services")) {
            if (s.path("name").asText().equals(name)) {
                return true;
            }
        }
        return false;
    }

    private static JsonNode awaitCheckpointAfter(TestBed bed, String node, String name, long after) throws IOException {
        for (int i = 0; i < 100; i++) {
            JsonNode c = JSON.readTree(ok(bed.svcmove(node, "status", name, "--json")).stdout()).path("checkpoint");
            if (c.path("taken_at").asLong() > after) {
                return c;
            }
            sleep(200);
        }
        throw new AssertionError("no checkpoint of " + name + " on " + node + " after " + after);
    }

    /** The node dies: its agent and every process of the cell SIGKILLed, the cell deleted (the VIP stops answering). */
    private static void killNode(TestBed bed, String node, String name) {
        Agents.kill(bed, node, "KILL");
        String cell = node + "." + name;
        for (String pid : ok(bed.execOutside(SHORT, "ip", "netns", "pids", cell)).stdout().split("\\s+")) {
            if (!pid.isBlank()) {
                bed.execOutside(SHORT, "kill", "-KILL", pid);
            }
        }
        ok(bed.execOutside(SHORT, "ip", "netns", "delete", cell));
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
