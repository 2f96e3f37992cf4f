package io.svcmove.migrator.dns;

import java.util.List;

/** The peer messages of DNS sync, each field named once (snake_case on the wire, {@link io.svcmove.migrator.peer.Messages}). */
final class DnsMessages {
    private DnsMessages() {}

    /** Peer request types of DNS sync; service.list takes no body. */
    static final class Type {
        static final String LIST = "service.list";

        private Type() {}
    }

    /** A node's services with their VIP and DNS name ({@code dns} null: the service has none). */
    record Listed(String node, List<Service> services) {
        Listed {
            services = services == null ? List.of() : List.copyOf(services);
        }

        record Service(String name, String vip, String dns) {}
    }
}
