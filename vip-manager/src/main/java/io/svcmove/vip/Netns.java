package io.svcmove.vip;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Runs tools inside one network namespace and reads iproute2's JSON output. {@code path == null}
 * means the namespace this JVM is in.
 */
final class Netns {

    static final Path NETNS_DIR = Path.of("/run/netns");
    private static final ObjectMapper JSON = new ObjectMapper();

    /** An address on an interface (IPv4, or IPv6 of global scope), with its prefix length. */
    record Addr(InetAddress address, int prefixLength) {
        Subnet subnet() {
            return Subnet.of(address, prefixLength);
        }
    }

    private final Path path;
    private final String description;

    /** {@code description} names the namespace in error messages, e.g. "node node1". */
    Netns(Path path, String description) {
        this.path = path;
        this.description = description;
    }

    static Path pathOf(String name) {
        return NETNS_DIR.resolve(name);
    }

    String description() {
        return description;
    }

    /** nsenter rather than {@code ip netns exec}: it leaves the mount namespace alone, so it costs one exec. */
    List<String> wrap(List<String> command) {
        if (path == null) {
            return command;
        }
        List<String> c = new ArrayList<>(command.size() + 3);
        c.add("nsenter");
        c.add("--net=" + path);
        c.add("--");
        c.addAll(command);
        return c;
    }

    Exec.Result run(String what, String... command) {
        return Exec.check(what + " in " + description, wrap(List.of(command)));
    }

    Exec.Result runWithInput(String what, String stdin, String... command) {
        return Exec.check(what + " in " + description, wrap(List.of(command)), stdin);
    }

    Exec.Result tryRun(String... command) {
        return Exec.run(wrap(List.of(command)));
    }

    JsonNode ipJson(String what, String... args) {
        List<String> c = new ArrayList<>(List.of("ip", "-j"));
        c.addAll(List.of(args));
        Exec.Result r = Exec.check(what + " in " + description, wrap(c));
        return parse(r.stdout(), what);
    }

    List<String> linkNames() {
        List<String> names = new ArrayList<>();
        for (JsonNode link : ipJson("listing interfaces", "link", "show")) {
            names.add(link.path("ifname").asText());
        }
        return names;
    }

    /** DEVICE's IPv4 addresses and its IPv6 addresses of global scope (link-local ones are no VIP's home). */
    List<Addr> addresses(String device) {
        return addressesOf(ipJson("listing the addresses of " + device, "addr", "show", "dev", device));
    }

    static List<Addr> addressesOf(JsonNode ipAddrShow) {
        List<Addr> addrs = new ArrayList<>();
        for (JsonNode link : ipAddrShow) {
            for (JsonNode a : link.path("addr_info")) {
                String family = a.path("family").asText();
                if ("inet".equals(family) || "inet6".equals(family) && "global".equals(a.path("scope").asText())) {
                    addrs.add(new Addr(Addresses.parse(a.path("local").asText(), "address"), a.path("prefixlen").asInt()));
                }
            }
        }
        return addrs;
    }

    static JsonNode parse(String json, String what) {
        try {
            return JSON.readTree(json.isBlank() ? "[]" : json);
        } catch (IOException e) {
            throw new CellException("cannot read the output of ip while " + what + ": " + e.getMessage()
                    + " (iproute2 with JSON output, -j, is required)", e);
        }
    }

    /** PIDs of live processes in the network namespace with this inode, read from /proc. */
    static List<Long> pidsIn(long inode) {
        String want = "net:[" + inode + "]";
        List<Long> pids = new ArrayList<>();
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            procs.forEach(p -> {
                String name = p.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit)) {
                    return;
                }
                try {
                    // Exited or zombie processes have no namespace link; they hold nothing.
                    if (want.equals(Files.readSymbolicLink(p.resolve("ns/net")).toString())) {
                        pids.add(Long.parseLong(name));
                    }
                } catch (IOException ignored) {
                    // Gone between listing and reading.
                }
            });
        } catch (IOException e) {
            throw new CellException("cannot list /proc: " + e.getMessage() + " (is /proc mounted?)", e);
        }
        return pids;
    }

    static long inode(Path netnsPath) {
        try {
            return ((Number) Files.getAttribute(netnsPath, "unix:ino")).longValue();
        } catch (IOException e) {
            throw new CellException("cannot stat " + netnsPath + ": " + e.getMessage() + " (does the cell still exist?)", e);
        }
    }
}
