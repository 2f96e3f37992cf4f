package io.svcmove.dns;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs one DnsUpdater call from inside a host of the test bed (the bed's DNS server is reachable
 * only from its namespaces): SERVER ZONE KEY_FILE TIMEOUT OP [ARGS], where register takes its
 * addresses as one comma-separated argument. Prints the result; a DnsException goes to stderr as
 * "CAUSE: message", exit code 3.
 */
public final class DnsProbe {
    private DnsProbe() {}

    public static void main(String[] a) throws Exception {
        DnsConfig config = new DnsConfig(a[0], a[1], Path.of(a[2]), null, null, 60, DnsConfig.parseDuration(a[3]));
        try {
            DnsUpdater dns = new DnsUpdater(config);
            switch (a[4]) {
                case "register" -> System.out.println(dns.register(a[5], addresses(a[6]), a[7]));
                case "remove" -> System.out.println(dns.remove(a[5], a[6]) ? "REMOVED" : "ABSENT");
                case "owned" -> dns.owned().forEach(r -> System.out.println(r.name() + " " + r.owner() + " "
                        + r.addresses().stream().map(InetAddress::getHostAddress).toList()));
                case "check" -> {
                    dns.check();
                    System.out.println("OK");
                }
                default -> throw new IllegalArgumentException("unknown op " + a[4]);
            }
        } catch (DnsException e) {
            System.err.println(e.reason() + ": " + e.getMessage());
            System.exit(3);
        }
    }

    private static List<InetAddress> addresses(String list) throws UnknownHostException {
        List<InetAddress> out = new ArrayList<>();
        for (String s : list.split(",")) {
            out.add(InetAddress.getByName(s));
        }
        return out;
    }
}
