package io.svcmove.testbed;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import java.util.List;

/** What {@code test-vm/cluster status --json} says about an up bed. */
public record BedStatus(
        String prefix,
        String kind,
        String subnet,
        int prefixLength,
        List<Host> hosts,
        String zone,
        Dns dns,
        Vips vips,
        /** The bed's IPv6; null on the VM bed, which has none. */
        Ipv6 ipv6,
        List<Agent> agents,
        /** The VM bed's NFS share: every node mounts it at {@code path}; null on the netns bed. */
        Shared shared) {

    /** The storage host's export, and where this machine holds its files. */
    public record Shared(String server, String export, String path, String hostDir) {}

    /**
     * A host; {@code kind} "vm" for a node that is a virtual machine (then {@code netns} is null);
     * {@code address6} null where the bed has no IPv6.
     */
    public record Host(String name, String role, String kind, String netns, String address, String address6,
            @JsonProperty("interface") String iface) {
        public boolean isVm() {
            return "vm".equals(kind);
        }
    }

    public record Dns(String server, String keyFile, String keyName, String algorithm) {}

    public record Vips(String first, String last) {}

    /** The bed's IPv6 prefix ("fd53:7e57:0:1::/64"), its length and its VIPs. */
    public record Ipv6(String prefix, int prefixLength, Vips vips) {}

    /** A running agent; {@code metrics} is ADDRESS:PORT of its Prometheus metrics (null where the bed gives it none). */
    public record Agent(String node, long pid, String config, String log, String socket, String metrics) {}

    private static final ObjectMapper JSON = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            // The script may add fields; the tests read only these.
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    public BedStatus {
        // A script from before the VM bed says no kind: it is the netns bed.
        kind = kind == null ? "netns" : kind;
        hosts = List.copyOf(hosts == null ? List.of() : hosts);
        agents = List.copyOf(agents == null ? List.of() : agents);
    }

    public static BedStatus parse(String json) {
        BedStatus status;
        try {
            status = JSON.readValue(json, BedStatus.class);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("test-vm/cluster status --json printed what is not its JSON: " + json, e);
        }
        if (status.hosts.isEmpty() || status.dns == null || status.vips == null || status.zone == null) {
            throw new IllegalArgumentException("test-vm/cluster status --json lacks hosts, dns, vips or zone: " + json);
        }
        if (status.ipv6 != null && (status.ipv6.prefix() == null || status.ipv6.vips() == null)) {
            throw new IllegalArgumentException("test-vm/cluster status --json gives ipv6 without its prefix or vips: " + json);
        }
        return status;
    }

    public List<String> nodes() {
        return hosts.stream().filter(h -> h.role().equals("node")).map(Host::name).toList();
    }

    /** The host named {@code name}, given either in full or without the bed's prefix. */
    public Host host(String name) {
        String p = prefix == null ? "" : prefix;
        return hosts.stream()
                .filter(h -> h.name().equals(name) || h.name().equals(p + name))
                .findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no host '" + name + "' on the bed; it has "
                        + hosts.stream().map(Host::name).toList()));
    }
}
