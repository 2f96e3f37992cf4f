package io.svcmove.vip;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Asks the LAN whether anyone already answers for an address. IPv4: a duplicate-address probe
 * with arping (sender address 0.0.0.0, so no neighbour learns anything from it); Debian ships two
 * arpings with different flags and opposite exit codes, both are handled. IPv6: a neighbour
 * solicitation to the address's solicited-node group with ndisc6, which waits for advertisements
 * whose target is the address (it solicits from the node's own address, which is harmless: a
 * neighbour that learns the node from it learns the truth).
 */
final class DuplicateAddressProbe {

    /** What the probe found; {@code macs} may be empty even when in use if the tool did not print who answered. */
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

    /** {@code address} is an IPv4 or IPv6 literal; a ':' says which. */
    Answer probe(String device, String address) {
        return address.indexOf(':') >= 0 ? solicitNeighbor(device, address) : arping(device, address);
    }

    private Answer arping(String device, String address) {
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
        return answered ? new Answer(true, macs(r.stdout())) : Answer.FREE;
    }

    /**
     * Two solicitations 1 s apart; -m waits out each one for every advertisement, so that two
     * hosts answering are both named. ndisc6 exits 0 when answered, 2 when not, 1 on an error.
     */
    private Answer solicitNeighbor(String device, String address) {
        Exec.Result r = Exec.run(inNode.apply(List.of("ndisc6", "-q", "-n", "-m", "-r", "2", "-w", "1000", address, device)));
        if (r.exitCode() == 2) {
            return Answer.FREE;
        }
        if (r.exitCode() != 0) {
            throw new CellException("duplicate-address probe for " + address + " on " + device + " failed: "
                    + r.message() + " (check that ndisc6 is installed and the interface is up with an IPv6 address)");
        }
        return new Answer(true, macs(r.stdout()));
    }

    /** Each MAC the tool printed, once, in lower case. */
    private static List<String> macs(String out) {
        List<String> macs = new ArrayList<>();
        Matcher m = MAC.matcher(out);
        while (m.find()) {
            String mac = m.group(1).toLowerCase(Locale.ROOT);
            if (!macs.contains(mac)) {
                macs.add(mac);
            }
        }
        return List.copyOf(macs);
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
