package io.svcmove.migrator.announce;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.svcmove.testbed.ExecResult;
import io.svcmove.testbed.TestBed;
import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** What the tests of this package share: starting, moving and stopping a service on the bed. */
final class Moves {
    static final ObjectMapper JSON = new ObjectMapper();

    private Moves() {}

    /** A test program of this package, as a file the bed's hosts can run (they share the filesystem). */
    static String script(String name) {
        URL url = Moves.class.getResource(name);
        if (url == null) {
            throw new AssertionError("test resource " + name + " is missing next to " + Moves.class.getName());
        }
        try {
            return Path.of(url.toURI()).toString();
        } catch (URISyntaxException e) {
            throw new AssertionError("test resource " + name + " is not a file: " + url, e);
        }
    }

    /** {@code svcmove run NAME --vip VIP/LEN -- CMD...} on NODE; fails the test if it does not start. */
    static void run(TestBed bed, String node, String name, String vip, String... cmd) {
        List<String> args = new ArrayList<>(List.of("run", name, "--vip", vip + "/" + bed.prefixLength(), "--"));
        args.addAll(List.of(cmd));
        ExecResult r = bed.svcmove(node, args.toArray(String[]::new));
        assertEquals(0, r.exitCode(), "svcmove run " + name + " on " + node + ":\n" + r.describe());
    }

    /** {@code svcmove NAME TO --json [EXTRA]} asked on FROM; a successful move's JSON. */
    static JsonNode move(TestBed bed, String from, String name, String to, String... extra) {
        List<String> args = new ArrayList<>(List.of(name, to, "--json"));
        args.addAll(List.of(extra));
        ExecResult r = bed.svcmove(from, args.toArray(String[]::new));
        assertEquals(0, r.exitCode(), "svcmove " + String.join(" ", args) + " on " + from + ":\n" + r.describe());
        JsonNode j;
        try {
            j = JSON.readTree(r.stdout());
        } catch (IOException e) {
            throw new AssertionError("expected JSON on stdout of:\n" + r.describe(), e);
        }
        assertTrue(j.path("ok").asBoolean(false), "ok in " + j);
        return j;
    }

    /** Stops NAME on every node that runs it; for cleanup, so it never fails the test. */
    static void stopEverywhere(TestBed bed, String name) {
        for (String n : bed.nodes()) {
            try {
                ExecResult r = bed.svcmove(n, "status", "--json");
                if (r.ok() && JSON.readTree(r.stdout()).path("services").findValuesAsText("name").contains(name)) {
                    bed.svcmove(n, "stop", name);
                }
            } catch (IOException | RuntimeException e) {
                // best effort: the bed is torn down at the end of the run anyway
            }
        }
    }

    /** The MAC svcmove gives a VIP's cell: 02:5c: and the VIP's four bytes. */
    static String vipMac(String vip) {
        String[] b = vip.split("\\.");
        StringBuilder mac = new StringBuilder("02:5c");
        for (String octet : b) {
            mac.append(String.format(":%02x", Integer.parseInt(octet)));
        }
        return mac.toString();
    }
}
