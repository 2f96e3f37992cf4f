package io.svcmove.testbed;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;

/**
 * The svcmove services of a bed, as the CLI shows and changes them: what end-to-end tests of every
 * module share (run, move, status everywhere, the nodes as one sees them, cells, cleanup). Failures are test failures that show
 * the call and what it printed.
 */
public final class Services {
    private static final Duration SHORT = Duration.ofSeconds(15);

    private Services() {}

    /** {@code svcmove run NAME --vip VIP/LEN -- CMD...} on NODE; fails the test if it does not start. */
    public static void run(TestBed bed, String node, String name, String vip, String... cmd) {
        int length = vip.contains(":") ? bed.prefixLength6() : bed.prefixLength();
        List<String> args = new ArrayList<>(List.of("run", name, "--vip", vip + "/" + length, "--"));
        args.addAll(List.of(cmd));
        ExecResult r = bed.svcmove(node, args.toArray(String[]::new));
        if (r.exitCode() != 0) {
            throw new AssertionError("svcmove run " + name + " on " + node + " failed:\n" + r.describe() + agentJournal(bed, node));
        }
    }

    /** On a VM, the end of NODE's agent journal: what a failed call's own output cannot show. */
    private static String agentJournal(TestBed bed, String node) {
        if (!bed.isVm()) {
            return "";
        }
        return "\n--- " + node + "'s agent journal, last lines:\n" + bed.exec(node, SHORT, "journalctl", "-u", "svcmove-agent", "-n", "60",
                "--no-pager").stdout();
    }

    /** {@code svcmove NAME TO --json [EXTRA]} asked on ASKED (any node); a successful move's report. */
    public static JsonNode move(TestBed bed, String asked, String name, String to, String... extra) {
        List<String> args = new ArrayList<>(List.of(name, to, "--json"));
        args.addAll(List.of(extra));
        ExecResult r = bed.svcmove(asked, args.toArray(String[]::new));
        JsonNode j = r.exitCode() == 0 ? r.json() : null;
        if (j == null || !j.path("ok").asBoolean(false)) {
            throw new AssertionError("svcmove " + String.join(" ", args) + " on " + asked + " failed:\n" + r.describe());
        }
        return j;
    }

    /** `svcmove status --json` of NODE: its services by name. */
    public static Map<String, JsonNode> on(TestBed bed, String node) {
        ExecResult r = bed.svcmove(node, "status", "--json");
        if (!r.ok()) {
            throw new AssertionError("svcmove status --json failed on " + node + ":\n" + r.describe());
        }
        Map<String, JsonNode> byName = new TreeMap<>();
        r.json().path("services").forEach(s -> byName.put(s.path("name").asText(), s));
        return byName;
    }

    /** NODE as `svcmove nodes --json` on ASKED describes it. */
    public static JsonNode node(TestBed bed, String asked, String node) {
        ExecResult r = bed.svcmove(asked, "nodes", "--json");
        if (!r.ok()) {
            throw new AssertionError("svcmove nodes --json failed on " + asked + ":\n" + r.describe());
        }
        return nodeIn(r.json(), node);
    }

    /** NODE's entry in an answer listing {@code nodes} (`svcmove nodes`, `svcmove moves`). */
    public static JsonNode nodeIn(JsonNode answer, String node) {
        for (JsonNode n : answer.path("nodes")) {
            if (n.path("node").asText().equals(node)) {
                return n;
            }
        }
        throw new AssertionError(node + " is not in the answer: " + answer);
    }

    /** The services of every node, asked in parallel (each CLI call starts a JVM). */
    public static Map<String, Map<String, JsonNode>> everywhere(TestBed bed) {
        Map<String, CompletableFuture<Map<String, JsonNode>>> asked = new TreeMap<>();
        for (String n : bed.nodes()) {
            asked.put(n, CompletableFuture.supplyAsync(() -> on(bed, n)));
        }
        Map<String, Map<String, JsonNode>> all = new TreeMap<>();
        asked.forEach((n, f) -> all.put(n, f.join()));
        return all;
    }

    /** The nodes whose `status` lists service NAME, with its state: e.g. {mnode2=running}. */
    public static Map<String, String> whereIs(TestBed bed, String name) {
        Map<String, String> found = new TreeMap<>();
        everywhere(bed).forEach((n, svcs) -> {
            if (svcs.containsKey(name)) {
                found.put(n, svcs.get(name).path("state").asText());
            }
        });
        return found;
    }

    /**
     * This bed's cells (netns NODE.SERVICE), from `ip netns list` where the nodes' cells live: the
     * host's for netns nodes (other beds' cells left out), each guest's own for VMs.
     */
    public static List<String> cells(TestBed bed) {
        List<String> cells = new ArrayList<>();
        if (bed.isVm()) {
            for (String n : bed.nodes()) {
                cells.addAll(cellsIn(bed.exec(n, SHORT, "ip", "netns", "list").requireOk().stdout(), List.of(n)));
            }
        } else {
            cells.addAll(cellsIn(bed.execOutside(SHORT, "ip", "netns", "list").requireOk().stdout(), bed.nodes()));
        }
        cells.sort(null);
        return cells;
    }

    private static List<String> cellsIn(String netnsList, List<String> nodes) {
        return netnsList.lines().map(l -> l.trim().split("\\s+")[0])
                .filter(ns -> nodes.stream().anyMatch(n -> ns.startsWith(n + "."))).toList();
    }

    /** Stops NAME wherever it runs, for cleanup; never fails the test (its own assertions matter). */
    public static void stopEverywhere(TestBed bed, String name) {
        for (String n : bed.nodes()) {
            try {
                if (on(bed, n).containsKey(name)) {
                    bed.svcmove(n, "stop", name);
                }
            } catch (RuntimeException | AssertionError e) {
                // best effort: the bed is torn down at the end of the run anyway
            }
        }
    }

    /** NAME's output on NODE (the file its agent writes beside its config, in log/), empty if none. */
    public static List<String> log(TestBed bed, String node, String name) {
        Path log = Path.of(bed.status().agents().stream().filter(a -> a.node().equals(node)).findFirst().orElseThrow().config())
                .resolveSibling("log").resolve(name + ".log");
        try {
            return Files.exists(log) ? Files.readAllLines(log) : List.of();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A test program kept beside class ANCHOR, as a file the bed's hosts can run (they share this filesystem). */
    public static String script(Class<?> anchor, String name) {
        URL url = anchor.getResource(name);
        if (url == null) {
            throw new AssertionError("test resource " + name + " is missing next to " + anchor.getName());
        }
        try {
            return Path.of(url.toURI()).toString();
        } catch (URISyntaxException e) {
            throw new AssertionError("test resource " + name + " is not a file: " + url, e);
        }
    }
}
