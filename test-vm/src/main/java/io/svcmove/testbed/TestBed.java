package io.svcmove.testbed;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * The netns test bed as tests see it: its hosts, addresses and DNS, and ways to run commands on a
 * host (in its netns, with its hostname), as if logged in there. Hosts may be named with or
 * without the bed's prefix ("node1" or "anode1").
 */
public final class TestBed {
    /** How long {@link #svcmove} waits for the CLI. */
    public static final Duration SVCMOVE_TIMEOUT = Duration.ofSeconds(60);

    private final Path checkout;
    private final BedStatus status;
    private final VipPool vips;
    /** Null on a bed without IPv6. */
    private final VipPool vips6;

    TestBed(Path checkout, BedStatus status) {
        this.checkout = checkout;
        this.status = status;
        this.vips = new VipPool(status.vips().first(), status.vips().last());
        this.vips6 = status.ipv6() == null ? null : new VipPool(status.ipv6().vips().first(), status.ipv6().vips().last());
    }

    public Path checkout() {
        return checkout;
    }

    public String prefix() {
        return status.prefix();
    }

    public BedStatus status() {
        return status;
    }

    /** "netns" (nodes are network namespaces of this machine) or "vm" (nodes are QEMU guests). */
    public String kind() {
        return status.kind();
    }

    public boolean isVm() {
        return "vm".equals(kind());
    }

    /** Every host: dns, client, then the nodes. */
    public List<String> hosts() {
        return status.hosts().stream().map(BedStatus.Host::name).toList();
    }

    /** The server nodes, in order: node1 first. */
    public List<String> nodes() {
        return status.nodes();
    }

    public String client() {
        return hostOfRole("client");
    }

    public String address(String host) {
        return status.host(host).address();
    }

    public int prefixLength() {
        return status.prefixLength();
    }

    /** Whether the hosts have IPv6 addresses and there are IPv6 VIPs: the netns bed does, the VM bed not. */
    public boolean hasIpv6() {
        return status.ipv6() != null;
    }

    /** HOST's IPv6 address (host .K has ::K of the bed's prefix). */
    public String address6(String host) {
        requireIpv6();
        BedStatus.Host h = status.host(host);
        if (h.address6() == null) {
            throw new IllegalStateException(h.name() + " has no address6 in test-vm/cluster status --json");
        }
        return h.address6();
    }

    public int prefixLength6() {
        requireIpv6();
        return status.ipv6().prefixLength();
    }

    /** An IPv6 VIP no other test of this run got. */
    public String nextVip6() {
        requireIpv6();
        return vips6.next();
    }

    private void requireIpv6() {
        if (!hasIpv6()) {
            throw new IllegalStateException("the " + kind() + " bed has no IPv6 (only the netns bed gives its hosts"
                    + " IPv6 addresses): skip the test there, assumeTrue(bed.hasIpv6())");
        }
    }

    public String zone() {
        return status.zone();
    }

    public String dnsServer() {
        return status.dns().server();
    }

    public Path tsigKeyFile() {
        return Path.of(status.dns().keyFile());
    }

    public String tsigKeyName() {
        return status.dns().keyName();
    }

    /** A VIP no other test of this run got. */
    public String nextVip() {
        return vips.next();
    }

    /** Runs CMD on HOST and waits at most {@code timeout}; past it the command's tree is killed. */
    public ExecResult exec(String host, Duration timeout, String... cmd) {
        return run(onHost(host, cmd), timeout);
    }

    /**
     * Runs svcmove ARGS on a node, which finds its agent.toml at /etc/svcmove there: this checkout's
     * {@code bin/svcmove} on a netns node, the installed {@code svcmove} in a VM.
     */
    public ExecResult svcmove(String node, String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(status.host(node).isVm() ? "svcmove" : checkout.resolve("bin/svcmove").toString());
        cmd.addAll(Arrays.asList(args));
        return exec(node, SVCMOVE_TIMEOUT, cmd.toArray(String[]::new));
    }

    /** Runs CMD on the machine itself, outside the bed (ip, nsenter, criu on a given PID ...). */
    public ExecResult execOutside(Duration timeout, String... cmd) {
        return run(List.of(cmd), timeout);
    }

    /** The PIDs (as the machine sees them) of every process in HOST's network namespace. */
    public Set<Long> pids(String host) {
        if (status.host(host).isVm()) {
            throw new UnsupportedOperationException(host + " is a VM: its processes are the guest's (exec ps there)");
        }
        String out = execOutside(Duration.ofSeconds(10), "ip", "netns", "pids", status.host(host).netns())
                .requireOk().stdout();
        return out.lines().filter(l -> !l.isBlank()).map(l -> Long.parseLong(l.trim())).collect(Collectors.toSet());
    }

    /** Starts CMD on HOST and leaves it running; stop it (or close it) when done. */
    public Background startBackground(String host, String... cmd) {
        List<String> command = onHost(host, cmd);
        Path log = null;
        try {
            log = Files.createTempFile("svcmove-bed-", ".log");
            Process p = new ProcessBuilder(command)
                    .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                    .redirectErrorStream(true)
                    .redirectOutput(log.toFile())
                    .start();
            return new Background(command, p, log);
        } catch (IOException e) {
            deleteQuietly(log);
            throw new UncheckedIOException("cannot start " + command, e);
        }
    }

    private List<String> onHost(String host, String... cmd) {
        if (cmd.length == 0) {
            throw new IllegalArgumentException("no command to run on " + host);
        }
        List<String> command = new ArrayList<>(List.of(
                checkout.resolve("test-vm/cluster").toString(), "exec", "--prefix", prefix(), status.host(host).name()));
        command.addAll(Arrays.asList(cmd));
        return command;
    }

    private String hostOfRole(String role) {
        return status.hosts().stream().filter(h -> h.role().equals(role)).map(BedStatus.Host::name).findFirst()
                .orElseThrow(() -> new IllegalStateException("the bed has no " + role + " host"));
    }

    /**
     * Output goes to files, not pipes: a command that leaves a child holding its stdout would
     * otherwise keep a pipe reader waiting past the timeout.
     */
    static ExecResult run(List<String> command, Duration timeout) {
        Path out = null;
        Path err = null;
        try {
            out = Files.createTempFile("svcmove-bed-", ".out");
            err = Files.createTempFile("svcmove-bed-", ".err");
            Process p = new ProcessBuilder(command)
                    .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                    .redirectOutput(out.toFile())
                    .redirectError(err.toFile())
                    .start();
            boolean done = p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
            if (!done) {
                ProcessTree.kill(p.toHandle(), Duration.ofSeconds(2));
                p.waitFor(2, TimeUnit.SECONDS);
            }
            return new ExecResult(command, done ? p.exitValue() : -1,
                    Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8), !done);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + command, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running " + command, e);
        } finally {
            deleteQuietly(out);
            deleteQuietly(err);
        }
    }

    private static void deleteQuietly(Path file) {
        if (file == null) {
            return;
        }
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            // A leftover temp file must not hide the test's own outcome.
        }
    }
}
