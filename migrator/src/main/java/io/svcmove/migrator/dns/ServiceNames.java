package io.svcmove.migrator.dns;

import io.svcmove.dns.DnsConfig;
import io.svcmove.dns.DnsException;
import io.svcmove.dns.DnsUpdater;
import io.svcmove.migrator.config.AgentConfig;
import io.svcmove.migrator.control.ControlException;
import io.svcmove.migrator.control.Outcome;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node's view of DNS: its [dns] section turned into a {@link DnsUpdater}. Services are
 * registered under their own name as owner, so two services can never hold one DNS name. The key
 * file is read on every use, so a new key needs no agent restart.
 */
public final class ServiceNames {
    private static final Logger log = LoggerFactory.getLogger(ServiceNames.class);

    private final AgentConfig.Dns dns;

    public ServiceNames(AgentConfig config) {
        this.dns = config.dns();
    }

    public boolean configured() {
        return dns != null;
    }

    /** Whether a DNS failure fails the start ([dns] required = true) or only warns. */
    public boolean required() {
        return dns != null && Boolean.TRUE.equals(dns.required());
    }

    /** The updater for this node's [dns] section; REFUSED when there is none or it is unusable. */
    public DnsUpdater updater() {
        if (dns == null) {
            throw new ControlException(Outcome.REFUSED, "this node has no [dns] section in its agent.toml: add server, zone"
                    + " and key_file there (see migrator/agent.toml.example) to give services DNS names");
        }
        try {
            return new DnsUpdater(config(dns));
        } catch (DnsException e) {
            throw new ControlException(Outcome.REFUSED, e.getMessage());
        } catch (IllegalArgumentException e) {
            throw new ControlException(Outcome.REFUSED, "[dns] timeout: " + e.getMessage());
        }
    }

    public static DnsConfig config(AgentConfig.Dns d) {
        return new DnsConfig(d.server(), d.zone(), d.keyFile() == null ? null : Path.of(d.keyFile()), d.keyName(), d.algorithm(),
                d.ttl() == null ? 0 : d.ttl(), DnsConfig.parseDuration(d.timeout()));
    }

    /** The absolute name for HOST in this node's zone; REFUSED when it is not a usable name. */
    public String qualify(String host) {
        try {
            return updater().qualify(host).toString();
        } catch (DnsException e) {
            throw new ControlException(Outcome.REFUSED, "--dns " + host + ": " + e.getMessage());
        }
    }

    /** Points NAME at VIP for SERVICE. Returns null when done, else the warning (or throws when [dns] required). */
    public String register(String name, InetAddress vip, String service) {
        try {
            DnsUpdater.Registered r = updater().register(name, List.of(vip), service);
            log.info("DNS: {} {} -> {} (owner {})", r == DnsUpdater.Registered.ADDED ? "added" : "updated", name,
                    vip.getHostAddress(), service);
            return null;
        } catch (DnsException e) {
            return failed("could not point " + name + " at " + vip.getHostAddress(), e);
        } catch (ControlException e) {
            return failed(e);
        }
    }

    /** Removes NAME when SERVICE owns it. Returns null when done (or already gone), else the warning. */
    public String remove(String name, String service) {
        try {
            boolean removed = updater().remove(name, service);
            log.info("DNS: {} {}", removed ? "removed" : "nothing to remove at", name);
            return null;
        } catch (DnsException e) {
            if (e.reason() == DnsException.Cause.NAME_TAKEN) {
                // Never ours (its start only warned): leaving it is right, not a failure.
                log.info("DNS: left {} as it is: {} never owned it", name, service);
                return null;
            }
            String w = "could not remove " + name + " from DNS: " + e.getMessage() + "; 'svcmove dns sync' retries";
            log.warn("{}", w);
            return w;
        } catch (ControlException e) {
            log.warn("{}", e.getMessage());
            return e.getMessage();
        }
    }

    private String failed(String what, DnsException e) {
        String msg = what + ": " + e.getMessage();
        if (required()) {
            throw new ControlException(Outcome.FAILED, msg);
        }
        String w = msg + " (the service runs without it; [dns] required = true makes this fail the start;"
                + " 'svcmove dns sync' retries)";
        log.warn("{}", w);
        return w;
    }

    private String failed(ControlException e) {
        if (required()) {
            throw e;
        }
        log.warn("{}", e.getMessage());
        return e.getMessage();
    }
}
