package io.svcmove.migrator.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.svcmove.testbed.ExecResult;
import io.svcmove.testbed.TestBed;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;

/** Small helpers the end-to-end tests share: JSON of the CLI, the bed's cells, polling, hashing. */
final class It {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Duration SHORT = Duration.ofSeconds(15);

    private It() {}

    /** The JSON a CLI call printed on stdout; fails the test, showing the call, when it is not JSON. */
    static JsonNode json(ExecResult r) {
        try {
            return JSON.readTree(r.stdout());
        } catch (IOException e) {
            throw new AssertionError("expected JSON on stdout of:\n" + r.describe(), e);
        }
    }

    /** The full name of a node, e.g. "mnode2" for bed prefix "m": what the CLI and the agents call it. */
    static String node(TestBed bed, int index) {
        return bed.nodes().get(index);
    }

    static String cidr(TestBed bed, String vip) {
        return vip + "/" + bed.prefixLength();
    }

    /** `svcmove status --json` of NODE: its services by name. */
    static Map<String, JsonNode> services(TestBed bed, String node) {
        ExecResult r = bed.svcmove(node, "status", "--json");
        if (!r.ok()) {
            throw new AssertionError("svcmove status --json failed on " + node + ":\n" + r.describe());
        }
        Map<String, JsonNode> byName = new TreeMap<>();
        json(r).path("services").forEach(s -> byName.put(s.path("name").asText(), s));
        return byName;
    }

    /** The services of every node, asked in parallel (each CLI call starts a JVM). */
    static Map<String, Map<String, JsonNode>> servicesEverywhere(TestBed bed) {
        Map<String, CompletableFuture<Map<String, JsonNode>>> asked = new TreeMap<>();
        for (String n : bed.nodes()) {
            asked.put(n, CompletableFuture.supplyAsync(() -> services(bed, n)));
        }
        Map<String, Map<String, JsonNode>> all = new TreeMap<>();
        asked.forEach((n, f) -> all.put(n, f.join()));
        return all;
    }

    /** The nodes whose `status` lists service NAME, with its state: e.g. {mnode2=running}. */
    static Map<String, String> whereIs(TestBed bed, String name) {
        Map<String, String> found = new TreeMap<>();
        servicesEverywhere(bed).forEach((n, svcs) -> {
            if (svcs.containsKey(name)) {
                found.put(n, svcs.get(name).path("state").asText());
            }
        });
        return found;
    }

    /** This bed's cells (netns NODE.SERVICE), from `ip netns list`; other beds' cells are left out. */
    static List<String> cells(TestBed bed) {
        String out = bed.execOutside(SHORT, "ip", "netns", "list").requireOk().stdout();
        List<String> cells = new ArrayList<>();
        for (String line : out.lines().toList()) {
            String ns = line.trim().split("\\s+")[0];
            if (bed.nodes().stream().anyMatch(n -> ns.startsWith(n + "."))) {
                cells.add(ns);
            }
        }
        cells.sort(null);
        return cells;
    }

    /** Stops NAME wherever it runs, for cleanup; never fails the test (its own assertions matter). */
    static void stopEverywhere(TestBed bed, String name) {
        for (String n : bed.nodes()) {
            try {
                if (services(bed, n).containsKey(name)) {
                    bed.svcmove(n, "stop", name);
                }
            } catch (RuntimeException | AssertionError e) {
                // best effort: the bed is torn down at the end of the run anyway
            }
        }
    }

    static String sha256(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 20];
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static long size(Path file) {
        try {
            return Files.exists(file) ? Files.size(file) : 0;
        } catch (IOException e) {
            return 0;
        }
    }

    static void deleteTree(Path dir) {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.sorted((a, b) -> b.getNameCount() - a.getNameCount()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + dir, e);
        }
    }

    /** A process (host PID namespace) still exists and is not a zombie. */
    static boolean alive(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            return !stat.substring(stat.lastIndexOf(')') + 2).startsWith("Z");
        } catch (IOException e) {
            return false;
        }
    }

    /** The HTTP status the client gets for URL (000 when nothing answers). */
    static String httpCode(TestBed bed, String url) {
        ExecResult r = bed.exec(bed.client(), SHORT, "curl", "-sS", "-o", "/dev/null", "--max-time", "5",
                "-w", "%{http_code}", url);
        return r.stdout().trim();
    }
}
