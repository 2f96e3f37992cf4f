package io.svcmove.migrator.agent;

import java.util.List;

/**
 * The peer messages of a node as a whole (what it is, its draining mark, its services for a
 * drain), one record per request and reply, each field named once (snake_case on the wire, {@link
 * io.svcmove.migrator.peer.Messages}). Requests without a record take no body.
 */
final class NodeMessages {
    private NodeMessages() {}

    /** Peer request types of a node. */
    static final class Type {
        static final String INFO = "node.info";
        static final String DRAIN = "node.drain";
        static final String SERVICES = "drain.services";

        private Type() {}
    }

    /**
     * A node as `svcmove nodes` shows it and drain places services by (free memory, load per CPU);
     * its certificate's end is what the operator must renew it before.
     */
    record Info(String node, boolean reachable, String address, String kernel, String criu, int services, long memAvailableBytes,
            double load1, int cpus, boolean draining, String certificateNotAfter, long certificateDaysLeft,
            boolean certificateExpiresSoon) {}

    /** For node.drain: set (true) or clear the node's draining mark. */
    record Drain(boolean draining) {}

    record Marked(String node, boolean draining) {}

    /** A node's services with the memory each uses, largest placed first by a drain. */
    record Services(String node, List<Service> services) {
        Services {
            services = services == null ? List.of() : List.copyOf(services);
        }

        record Service(String name, String vip, long rssBytes) {}
    }
}
