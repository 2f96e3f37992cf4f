package io.svcmove.testbed;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * Brings the test bed up once per JVM (prefix from system property or env {@code SVCMOVE_BED_PREFIX},
 * none by default; {@code SVCMOVE_BED_AGENTS=0} skips the agents) and takes it down after the last
 * test of the run, through the root context's store. Resolves {@link TestBed} parameters. The kind
 * of bed comes from {@code SVCMOVE_BED}: {@code netns} (the default) or {@code vm} (nodes are QEMU
 * guests: {@code cluster up --vm}; the caller must hold the machine's bed lock, see test-vm/vm/bed.sh).
 */
public final class TestBedExtension implements ParameterResolver {
    static final String PREFIX = "SVCMOVE_BED_PREFIX";
    static final String AGENTS = "SVCMOVE_BED_AGENTS";
    static final String KIND = "SVCMOVE_BED";
    private static final Duration UP_TIMEOUT = Duration.ofMinutes(3);
    /** Building the node image when it is not cached (~2 min), then booting and installing (~2-4 min under TCG). */
    private static final Duration VM_UP_TIMEOUT = Duration.ofMinutes(15);
    private static final Duration DOWN_TIMEOUT = Duration.ofMinutes(1);

    @Override
    public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
        return parameter.getParameter().getType() == TestBed.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
        ExtensionContext.Store store = context.getRoot().getStore(ExtensionContext.Namespace.create(TestBedExtension.class));
        try {
            return store.getOrComputeIfAbsent(Running.class, k -> Running.start(), Running.class).bed;
        } catch (RuntimeException e) {
            throw new ParameterResolutionException("the test bed could not be brought up: " + e.getMessage(), e);
        }
    }

    /** The bed of this run; JUnit closes it after the last test. */
    static final class Running implements ExtensionContext.Store.CloseableResource {
        final TestBed bed;
        private final List<String> cluster;

        private Running(TestBed bed, List<String> cluster) {
            this.bed = bed;
            this.cluster = cluster;
        }

        static Running start() {
            if (!isRoot()) {
                throw new IllegalStateException("the test bed needs root (network namespaces, CRIU): run the"
                        + " integration tests as root, or only the unit tests with 'make unit'");
            }
            Path home = checkout();
            String prefix = setting(PREFIX, "");
            List<String> cluster = List.of(home.resolve("test-vm/cluster").toString());
            List<String> prefixArg = List.of("--prefix", prefix);
            // Left over from a run that crashed: start from a clean bed.
            if (clusterRun(cluster, List.of("status"), prefixArg, Duration.ofSeconds(30)).ok()) {
                clusterRun(cluster, List.of("down"), prefixArg, DOWN_TIMEOUT).requireOk();
            }
            List<String> up = new ArrayList<>(prefixArg);
            if (setting(AGENTS, "1").equals("0")) {
                up.add("--no-agents");
            }
            boolean vm = kind().equals("vm");
            if (vm) {
                up.add("--vm");
            }
            clusterRun(cluster, List.of("up"), up, vm ? VM_UP_TIMEOUT : UP_TIMEOUT).requireOk();
            try {
                String json = clusterRun(cluster, List.of("status", "--json"), prefixArg, Duration.ofSeconds(30))
                        .requireOk().stdout();
                return new Running(new TestBed(home, BedStatus.parse(json)), cluster);
            } catch (RuntimeException e) {
                clusterRun(cluster, List.of("down"), prefixArg, DOWN_TIMEOUT);
                throw e;
            }
        }

        @Override
        public void close() {
            clusterRun(cluster, List.of("down"), List.of("--prefix", bed.prefix()), DOWN_TIMEOUT).requireOk();
        }

        private static ExecResult clusterRun(List<String> cluster, List<String> cmd, List<String> args, Duration timeout) {
            List<String> all = new ArrayList<>(cluster);
            all.addAll(cmd);
            all.addAll(args);
            return TestBed.run(all, timeout);
        }
    }

    /** The kind of bed asked for: "netns" or "vm". */
    static String kind() {
        String kind = setting(KIND, "netns");
        if (!kind.equals("netns") && !kind.equals("vm")) {
            throw new IllegalStateException(KIND + "=" + kind + ": the bed is 'netns' (the default) or 'vm'");
        }
        return kind;
    }

    static String setting(String name, String fallback) {
        String value = System.getProperty(name);
        if (value == null) {
            value = System.getenv(name);
        }
        return value == null ? fallback : value;
    }

    /** From env SVCMOVE_HOME (Failsafe sets it), else the nearest directory up holding test-vm/cluster. */
    static Path checkout() {
        String env = System.getenv("SVCMOVE_HOME");
        if (env != null && !env.isBlank()) {
            Path home = Path.of(env).toAbsolutePath();
            if (!Files.isRegularFile(home.resolve("test-vm/cluster"))) {
                throw new IllegalStateException("SVCMOVE_HOME=" + env + " holds no test-vm/cluster: point it at the svcmove checkout");
            }
            return home;
        }
        return findCheckout(Path.of("").toAbsolutePath());
    }

    static Path findCheckout(Path start) {
        for (Path dir = start; dir != null; dir = dir.getParent()) {
            if (Files.isRegularFile(dir.resolve("test-vm/cluster"))) {
                return dir;
            }
        }
        throw new IllegalStateException("no directory from " + start + " upwards holds test-vm/cluster;"
                + " run from the svcmove checkout or set SVCMOVE_HOME");
    }

    static boolean isRoot() {
        try {
            return Files.readAllLines(Path.of("/proc/self/status")).stream()
                    .filter(l -> l.startsWith("Uid:"))
                    .map(l -> l.split("\\s+")[2]) // Uid: real effective saved fs
                    .anyMatch("0"::equals);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read /proc/self/status to check for root", e);
        }
    }
}
