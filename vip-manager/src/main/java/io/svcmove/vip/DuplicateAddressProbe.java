package io.svcmove.vip;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Asks the LAN whether anyone already answers ARP for an address, with a duplicate-address probe
 * (sender address 0.0.0.0, so no neighbour learns anything from it). Debian ships two arpings with
 * different flags and opposite exit codes; both are handled.
 */
final class DuplicateAddressProbe {

    /** What the probe found; {@code macs} may be empty even when in use if arping did not print who answered. */
    record Answer(boolean inUse, List<String> macs) {
        static final Answer FREE = new Answer(false, List.of());
    }

    private static final Pattern MAC = Pattern.compile("(?i)\\b([0-9a-f]{2}(?::[0-9a-f]{2}){5})\\b");

    private enum Flavor { HABETS, IPUTILS }

    private final UnaryOperator<List<String>> inNode;
    private volatile Flavor flavor;

    /** {@code inNode} wraps a command so that it runs in the node's network namespace. */
    DuplicateAddressProbe(UnaryOperator<List<String>> inNode) {
        this.inNode = inNode;
    }

    Answer probe(String device, String address) {
        Flavor f = flavor();
        List<String> cmd = f == Flavor.HABETS
                ? List.of("arping", "-0", "-r", "-i", device, "-c", "2", "-C", "1", "-w", "2", address)
                : List.of("arping", "-D", "-I", device, "-c", "2", "-w", "2", address);
        Exec.Result r = Exec.run(inNode.apply(cmd));
        // Habets: 0 = answered, 1 = no answer (or an error, which prints to stderr).
        // iputils with -D: 0 = no answer, 1 = answered, 2 = error.
        boolean answered = f == Flavor.HABETS ? r.exitCode() == 0 : r.exitCode() == 1;
        boolean failed = f == Flavor.HABETS ? r.exitCode() != 0 && !r.stderr().isBlank() : r.exitCode() > 1;
        if (failed) {
            throw new CellException("duplicate-address probe for " + address + " on " + device + " failed: "
                    + r.message() + " (check that arping is installed and the interface is up)");
        }
        if (!answered) {
            return new Answer(false, List.of());
        }
        List<String> macs = new ArrayList<>();
        Matcher m = MAC.matcher(r.stdout());
        while (m.find()) {
            String mac = m.group(1).toLowerCase(Locale.ROOT);
            if (!macs.contains(mac)) {
                macs.add(mac);
            }
        }
        return new Answer(true, List.copyOf(macs));
    }

    private Flavor flavor() {
        Flavor f = flavor;
        if (f == null) {
            Exec.Result r = Exec.run(List.of("arping", "--help"));
            f = (r.stdout() + r.stderr()).contains("Habets") ? Flavor.HABETS : Flavor.IPUTILS;
            flavor = f;
        }
        return f;
    }
}
