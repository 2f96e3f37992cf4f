package io.svcmove.migrator.move;

import io.svcmove.migrator.config.AgentConfig;
import io.svcmove.migrator.criu.Criu;
import io.svcmove.migrator.service.Draining;
import io.svcmove.migrator.service.ServiceRecord;
import io.svcmove.migrator.service.ServiceRegistry;
import io.svcmove.vip.Vip;
import java.nio.file.Path;
import java.util.List;

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
    void check(String from, ServiceRecord svc, String theirCriu, ServiceFiles files) {
        if (criu == null) {
            throw new IllegalStateException("CRIU is missing or does not work on " + config.node()
                    + ": run 'make setup' there (see the agent's log for CRIU's own reason)");
        }
        if (!criuVersion.equals(theirCriu)) {
            throw new IllegalStateException(config.node() + " has CRIU " + criuVersion + " but " + from + " has " + theirCriu
                    + ": install the same CRIU on both (make setup)");
        }
        if (registry.find(svc.name()).isPresent()) {
            throw new IllegalStateException("a service named " + svc.name() + " already runs on " + config.node());
        }
        if (new Draining(Path.of(config.stateDir())).on()) {
            throw new IllegalStateException(config.node() + " is draining: it takes no services until 'svcmove undrain "
                    + config.node() + "'");
        }
        Vip vip = Vip.parse(svc.vip());
        for (ServiceRecord other : registry.all()) {
            if (Vip.parse(other.vip()).address().equals(vip.address())) {
                throw new IllegalStateException(vip.addressText() + " is already the VIP of " + other.name() + " on " + config.node());
            }
        }
        List<String> lacking = files.mismatches(svc.name(), from, config.node());
        if (!lacking.isEmpty()) {
            throw new IllegalStateException(String.join("; ", lacking) + ": every file a service has open, other than the logs it"
                    + " appends to, must be the same on both nodes (keep shared data on a network filesystem, install the same"
                    + " packages on both)");
        }
    }
}
