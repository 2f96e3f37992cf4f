package io.svcmove.migrator.move;

import io.svcmove.migrator.config.AgentConfig;
import io.svcmove.migrator.criu.Criu;
import io.svcmove.migrator.service.Draining;
import io.svcmove.migrator.service.ServiceRecord;
import io.svcmove.migrator.service.ServiceRegistry;
import io.svcmove.vip.Vip;
import io.svcmove.vip.Vips;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Whether this node may take a service a peer wants to move here: the destination's checks of prepare. */
final class Admission {
    private final AgentConfig config;
    private final ServiceRegistry registry;
    private final Criu criu;
    private final String criuVersion;

    Admission(AgentConfig config, ServiceRegistry registry, Criu criu, String criuVersion) {
        this.config = config;
        this.registry = registry;
        this.criu = criu;
        this.criuVersion = criuVersion;
    }

    /** Throws, with the reason and the fix, when {@code svc} may not come here from {@code from}. */
    void check(String from, ServiceRecord svc, String theirCriu, ServiceFiles files, NodeResources.Needs needs) {
        Preflight.firstRefusal(checks(from, svc, theirCriu, files, needs)).ifPresent(refusal -> {
            throw new IllegalStateException(refusal.message());
        });
    }

    /**
     * Every destination check of prepare, each with its result, the reason and the fix; the CPU and
     * memory ones when the source sent what the service needs ({@code needs} non-null).
     */
    List<Preflight> checks(String from, ServiceRecord svc, String theirCriu, ServiceFiles files, NodeResources.Needs needs) {
        List<Preflight> checks = new ArrayList<>();
        checks.add(criu != null ? Preflight.ok("criu") : Preflight.refuse("criu",
                "CRIU is missing or does not work on " + config.node(),
                "run 'make setup' there (see the agent's log for CRIU's own reason)"));
        checks.add(criu == null || criuVersion.equals(theirCriu) ? Preflight.ok("criu-version") : Preflight.refuse("criu-version",
                config.node() + " has CRIU " + criuVersion + " but " + from + " has " + theirCriu,
                "install the same CRIU on both (make setup)"));
        checks.add(registry.find(svc.name()).isEmpty() ? Preflight.ok("name") : Preflight.refuse("name",
                "a service named " + svc.name() + " already runs on " + config.node(), ""));
        checks.add(!new Draining(Path.of(config.stateDir())).on() ? Preflight.ok("draining") : Preflight.refuse("draining",
                config.node() + " is draining", "it takes no services until 'svcmove undrain " + config.node() + "'"));
        checks.add(vipHolder(Vips.parse(svc.vip())));
        List<String> lacking = files.mismatches(svc.name(), from, config.node());
        checks.add(lacking.isEmpty() ? Preflight.ok("files") : Preflight.refuse("files", String.join("; ", lacking),
                "every file a service has open, other than the logs it appends to, must be the same on both nodes:"
                        + " keep shared data on a network filesystem, and install the same version of each package on both"
                        + " (an executable or library of another build has another build-id, which CRIU checks at restore)"));
        if (needs != null) {
            checks.addAll(NodeResources.here(config.node(), needs));
        }
        return checks;
    }

    private Preflight vipHolder(Vips vips) {
        for (ServiceRecord other : registry.all()) {
            Optional<Vip> shared = vips.shared(Vips.parse(other.vip()));
            if (shared.isPresent()) {
                return Preflight.refuse("vip", shared.get().addressText() + " is already the VIP of " + other.name() + " on "
                        + config.node(), "");
            }
        }
        return Preflight.ok("vip");
    }
}
