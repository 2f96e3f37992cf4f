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
        /**
         * When {@code pid} started ({@link ProcessIdentity}: clock ticks since this node's boot), 0 if
         * unknown: before it kills pid, an agent checks it is still the service's process (after a
         * reboot the number can belong to anything).
         */
        long pidStart,
        String netns,
        long startedAt,
        /** The service's DNS name (absolute), or null: written at start and stop, never by a move. */
        String dns,
        /** Seconds between checkpoints kept on another node (run --checkpoint-every), or null: none. Moves keep it. */
        Long checkpointEverySeconds,
        /** The files the service writes, closes and reads back, carried with it (run --carry); empty: none. */
        List<String> carry,
        /** Why the service died on this node where it cannot be restarted (a lazy move whose source failed), or null. */
        String failure,
        /** The move from here under way, from its preparation to its end; null otherwise. */
        MoveInFlight move,
        /** The move that brought the service here: its stage until the source let go (then COMMITTED, for replies). */
        Arrival arrival) {

    public ServiceRecord {
        carry = carry == null ? List.of() : List.copyOf(carry);
    }

    /** A move from this node: what an agent restarted before its end needs to finish it. */
    public record MoveInFlight(String id, String to, MoveStage stage, boolean lazy) {
        public MoveInFlight at(MoveStage next) {
            return new MoveInFlight(id, to, stage.to(next), lazy);
        }
    }

    /** The move that brought the service to this node, from {@code from}. */
    public record Arrival(String id, String from, MoveStage stage) {}

    /** The service where a move or a recovery put it: its new node, process and cell. */
    public ServiceRecord withPlacement(String newNode, long newPid, String newNetns, String newIface, Arrival how) {
        return new ServiceRecord(name, newNode, vip, mac, newIface, gateway, command, env, cwd, newPid, ProcessIdentity.startOf(newPid),
                newNetns, startedAt, dns, checkpointEverySeconds, carry, null, null, how);
    }

    public ServiceRecord failed(String why) {
        return new ServiceRecord(name, node, vip, mac, iface, gateway, command, env, cwd, pid, pidStart, netns, startedAt, dns,
                checkpointEverySeconds, carry, why, null, arrival);
    }

    /** This record with the move under way, or none ({@code null}). */
    public ServiceRecord moving(MoveInFlight m) {
        return new ServiceRecord(name, node, vip, mac, iface, gateway, command, env, cwd, pid, pidStart, netns, startedAt, dns,
                checkpointEverySeconds, carry, failure, m, arrival);
    }

    /** This record with the arrival's new stage. */
    public ServiceRecord arrived(Arrival a) {
        return new ServiceRecord(name, node, vip, mac, iface, gateway, command, env, cwd, pid, pidStart, netns, startedAt, dns,
                checkpointEverySeconds, carry, failure, move, a);
    }

    /** Whether the source of the move that brought it here has not let go yet (a stop now would be undone by it). */
    public boolean arriving() {
        return arrival != null && arrival.stage() != MoveStage.COMMITTED;
    }
}
