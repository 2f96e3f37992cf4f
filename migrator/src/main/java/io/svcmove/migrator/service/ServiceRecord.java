package io.svcmove.migrator.service;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import java.util.List;
import java.util.Map;

/**
 * What the agent keeps on disk about one service of its node: enough to re-adopt it after the
 * agent restarts, and to rebuild its cell on another node.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record ServiceRecord(
        String name,
        String node,
        String vip,
        String mac,
        String iface,
        String gateway,
        List<String> command,
        Map<String, String> env,
        String cwd,
        long pid,
        String netns,
        long startedAt,
        /** The service's DNS name (absolute), or null: written at start and stop, never by a move. */
        String dns,
        /** Seconds between checkpoints kept on another node (run --checkpoint-every), or null: none. Moves keep it. */
        Long checkpointEverySeconds,
        /** Why the service died on this node where it cannot be restarted (a lazy move whose source failed), or null. */
        String failure,
        /** The move from here under way, from its freeze to its end; null otherwise. */
        MoveInFlight move) {

    /**
     * A move from this node that has frozen the service: what an agent restarted before its end
     * needs to finish it. {@code stage}: {@link #FROZEN} (the destination has not been asked to
     * restore), {@link #RESTORING} (it may have restored an eager copy), {@link #HANDED_OVER} (a
     * lazy copy runs there: past the point of no return).
     */
    public record MoveInFlight(String id, String to, String stage) {
        public static final String FROZEN = "frozen";
        public static final String RESTORING = "restoring";
        public static final String HANDED_OVER = "handed-over";
    }

    public ServiceRecord withPlacement(String newNode, long newPid, String newNetns, String newIface) {
        return new ServiceRecord(name, newNode, vip, mac, newIface, gateway, command, env, cwd, newPid, newNetns, startedAt, dns,
                checkpointEverySeconds, null, null);
    }

    public ServiceRecord failed(String why) {
        return new ServiceRecord(name, node, vip, mac, iface, gateway, command, env, cwd, pid, netns, startedAt, dns,
                checkpointEverySeconds, why, null);
    }

    /** This record with the move under way, or none ({@code null}). */
    public ServiceRecord moving(MoveInFlight m) {
        return new ServiceRecord(name, node, vip, mac, iface, gateway, command, env, cwd, pid, netns, startedAt, dns,
                checkpointEverySeconds, failure, m);
    }
}
