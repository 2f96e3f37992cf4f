package io.svcmove.migrator.dns;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.svcmove.dns.DnsException;
import io.svcmove.dns.DnsUpdater;
import io.svcmove.dns.OwnedRecord;
import io.svcmove.migrator.config.AgentConfig;
import io.svcmove.migrator.control.ControlException;
import io.svcmove.migrator.control.ControlMessage;
import io.svcmove.migrator.control.Outcome;
import io.svcmove.migrator.peer.Messages;
import io.svcmove.migrator.peer.PeerClient;
import io.svcmove.migrator.peer.RequestHandler;
import io.svcmove.migrator.service.ServiceRegistry;
import io.svcmove.vip.Addresses;
import io.svcmove.vip.Vip;
import io.svcmove.vip.Vips;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * `svcmove dns sync`: makes the zone match the services the whole cluster runs. It adds the names
 * services need, removes names svcmove owns that no service needs, and never touches a name
 * without svcmove's mark. Every node must answer: without the full list it could remove a name a
 * silent node's service still uses.
 */
public final class DnsSync {
    private static final Logger log = LoggerFactory.getLogger(DnsSync.class);
    private static final Duration ASK = Duration.ofSeconds(5);

    /** A name a service needs: its owner (the service) and its VIP. */
    record Wanted(String name, String owner, List<InetAddress> addresses, String node) {}

    private final Supplier<AgentConfig> config;
    private final ServiceRegistry registry;
    private final PeerClient peers;
    private final ServiceNames names;

    /** {@code config}: the configuration in force, whose [[peers]] a reload changes; [dns] is read once (it changes at a restart). */
    public DnsSync(Supplier<AgentConfig> config, ServiceRegistry registry, PeerClient peers) {
        this.config = config;
        this.registry = registry;
        this.peers = peers;
        this.names = new ServiceNames(config.get());
    }

    public Map<String, RequestHandler> handlers() {
        return Map.of(DnsMessages.Type.LIST, Messages.typed((from, body) -> list()));
    }

    /** This node's services with their VIP and DNS name. */
    private DnsMessages.Listed list() {
        return new DnsMessages.Listed(config.get().node(), registry.all().stream()
                .map(r -> new DnsMessages.Listed.Service(r.name(), r.vip(), r.dns())).toList());
    }

    public JsonNode sync(JsonNode req) {
        boolean dryRun = req.path("dry_run").asBoolean(false);
        DnsUpdater dns = names.updater();
        List<DnsMessages.Listed> answers = new ArrayList<>();
        answers.add(list());
        List<AgentConfig.Peer> peerList = config.get().peers(); // one list for the whole sync, as a reload may change it
        List<CompletableFuture<DnsMessages.Listed>> asked = new ArrayList<>();
        peerList.forEach(p -> asked.add(Messages.call(peers, p.name(), DnsMessages.Type.LIST, Map.of(), DnsMessages.Listed.class,
                ASK)));
        for (int i = 0; i < asked.size(); i++) {
            try {
                answers.add(asked.get(i).join());
            } catch (RuntimeException e) {
                Throwable c = e.getCause() != null ? e.getCause() : e;
                throw new ControlException(Outcome.UNAVAILABLE, "cannot list the services of " + peerList.get(i).name()
                        + " (" + c.getMessage() + "): DNS was not changed, since a name that node's services use could be"
                        + " removed; retry when every node answers ('svcmove nodes' shows them)");
            }
        }
        Map<String, Wanted> wanted = new LinkedHashMap<>();
        for (DnsMessages.Listed a : answers) {
            for (DnsMessages.Listed.Service s : a.services()) {
                if (s.dns() != null) {
                    String name = key(s.dns());
                    wanted.put(name, new Wanted(name, s.name(), Vips.parse(s.vip()).all().stream().map(Vip::address).toList(), a.node()));
                }
            }
        }
        List<OwnedRecord> owned;
        try {
            owned = dns.owned();
        } catch (DnsException e) {
            throw new ControlException(Outcome.FAILED, "cannot read the names svcmove owns: " + e.getMessage());
        }
        ObjectNode out = ControlMessage.JSON.createObjectNode().put("zone", dns.zone().toString()).put("dry_run", dryRun);
        ArrayNode added = out.putArray("added");
        ArrayNode removed = out.putArray("removed");
        ArrayNode unchanged = out.putArray("unchanged");
        ArrayNode errors = out.putArray("errors");
        Map<String, OwnedRecord> ownedByName = new LinkedHashMap<>();
        owned.forEach(o -> ownedByName.put(key(o.name()), o));

        // Removals first: a stale name of a gone service may be what another service now needs.
        for (OwnedRecord o : owned) {
            Wanted w = wanted.get(key(o.name()));
            if (w != null && w.owner().equals(o.owner())) {
                continue;
            }
            ObjectNode entry = ControlMessage.JSON.createObjectNode().put("name", o.name()).put("owner", o.owner());
            o.addresses().forEach(a -> entry.withArray("addresses").add(Addresses.text(a)));
            try {
                if (!dryRun) {
                    dns.remove(o.name(), o.owner());
                    log.info("dns sync: removed {} (owner {}: no service needs it)", o.name(), o.owner());
                }
                removed.add(entry);
            } catch (DnsException e) {
                errors.add(entry.put("error", e.getMessage()));
            }
        }
        for (Wanted w : wanted.values()) {
            OwnedRecord o = ownedByName.get(w.name());
            List<String> texts = w.addresses().stream().map(Addresses::text).toList();
            ObjectNode entry = ControlMessage.JSON.createObjectNode().put("name", w.name()).put("owner", w.owner())
                    .put("address", texts.get(0)).put("node", w.node());
            texts.forEach(entry.putArray("addresses")::add);
            if (o != null && o.owner().equals(w.owner()) && Set.copyOf(o.addresses()).equals(Set.copyOf(w.addresses()))) {
                unchanged.add(entry);
                continue;
            }
            try {
                if (!dryRun) {
                    dns.register(w.name(), w.addresses(), w.owner());
                    log.info("dns sync: {} -> {} (owner {})", w.name(), String.join(", ", texts), w.owner());
                }
                added.add(entry);
            } catch (DnsException e) {
                errors.add(entry.put("error", e.getMessage()));
            }
        }
        return out;
    }

    private static String key(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        return n.endsWith(".") ? n : n + ".";
    }
}
