package io.svcmove.migrator.pki;

import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Pattern;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.DefaultParser;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;
import org.apache.commons.cli.ParseException;

/**
 * {@code svcmove cert ca --dir DIR} and {@code svcmove cert node NAME --dir DIR [--ip ADDR]...}.
 * Takes the arguments after {@code cert}; returns the exit code (0 done, 1 failed, 2 usage).
 */
public final class CertCommand {
    public static final String USAGE = """
            usage: svcmove cert ca --dir DIR
                   svcmove cert node NAME --dir DIR [--ip ADDR]...
              ca    create the cluster CA (ca.key, ca.crt) in DIR; never overwrites one
              node  issue NAME.key and NAME.crt in DIR, signed by the CA there; --ip adds an address (repeatable)""";
    /** Literal addresses only: a host name here would silently depend on this machine's DNS. */
    private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");
    private static final Pattern IPV6 = Pattern.compile("[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*");

    private CertCommand() {}

    public static int run(String[] args) {
        return run(args, System.out, System.err);
    }

    /** Its options; public for shell completion. */
    public static Options options() {
        return new Options()
                .addOption(Option.builder().longOpt("dir").hasArg().argName("DIR").desc("PKI directory").build())
                .addOption(Option.builder().longOpt("ip").hasArg().argName("ADDR").desc("IP address SAN").build())
                .addOption(Option.builder("h").longOpt("help").desc("this text").build());
    }

    public static int run(String[] args, PrintStream out, PrintStream err) {
        CommandLine cl;
        try {
            cl = new DefaultParser().parse(options(), args);
        } catch (ParseException e) {
            return usage(err, e.getMessage());
        }
        if (cl.hasOption("help")) {
            out.println(USAGE);
            return 0;
        }
        List<String> rest = cl.getArgList();
        if (rest.isEmpty()) {
            return usage(err, "missing subcommand: ca or node");
        }
        if (!cl.hasOption("dir")) {
            return usage(err, "missing --dir DIR");
        }
        Path dir = Path.of(cl.getOptionValue("dir"));
        try {
            switch (rest.get(0)) {
                case "ca" -> {
                    if (rest.size() != 1 || cl.hasOption("ip")) {
                        return usage(err, "`cert ca` takes only --dir");
                    }
                    ClusterPki.Issued ca = ClusterPki.createCa(dir);
                    out.println("wrote " + ca.key() + " (CA private key, mode 0600: keep it off the nodes)");
                    out.println("wrote " + ca.certificate() + " (CA certificate, valid until "
                            + ca.cert().getNotAfter().toInstant() + "; copy it to every node)");
                }
                case "node" -> {
                    if (rest.size() != 2) {
                        return usage(err, "`cert node` takes exactly one NAME");
                    }
                    List<InetAddress> ips = new ArrayList<>();
                    String[] values = cl.getOptionValues("ip");
                    if (values != null) {
                        for (String v : values) {
                            ips.add(parseIp(v));
                        }
                    }
                    ClusterPki.Issued node = ClusterPki.issueNode(dir, rest.get(1), ips);
                    out.println("wrote " + node.key() + " (private key of " + rest.get(1) + ", mode 0600)");
                    out.println("wrote " + node.certificate() + " (certificate of " + rest.get(1) + ", valid until "
                            + node.cert().getNotAfter().toInstant() + ")");
                }
                default -> {
                    return usage(err, "unknown subcommand '" + rest.get(0) + "': use ca or node");
                }
            }
            return 0;
        } catch (IllegalArgumentException e) {
            return usage(err, e.getMessage());
        } catch (IOException e) {
            err.println("svcmove cert: " + e.getMessage());
            return 1;
        }
    }

    static InetAddress parseIp(String text) {
        boolean v4 = IPV4.matcher(text).matches();
        if (!v4 && !IPV6.matcher(text).matches()) {
            throw new IllegalArgumentException("--ip " + text + " is not an IP address literal");
        }
        // An out-of-range dotted quad would otherwise be taken for a host name and looked up.
        if (v4 && Arrays.stream(text.split("\\.")).anyMatch(octet -> Integer.parseInt(octet) > 255)) {
            throw new IllegalArgumentException("--ip " + text + " is not a valid IPv4 address");
        }
        try {
            return InetAddress.getByName(text);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("--ip " + text + " is not a valid IP address");
        }
    }

    private static int usage(PrintStream err, String problem) {
        err.println("svcmove cert: " + problem);
        err.println(USAGE);
        return 2;
    }
}
