package io.svcmove.migrator.it;

import io.svcmove.testbed.Downloads;
import io.svcmove.testbed.ExecResult;
import io.svcmove.testbed.Services;
import io.svcmove.testbed.TestBed;
import io.svcmove.testbed.Wait;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * An nginx site for one test, in its own temp dir (the nodes share the filesystem): a config
 * listening on the VIPs only (one, or an IPv4 and an IPv6 one), index.html, and optionally a big random file. {@link #close()} stops
 * the service wherever it runs and deletes the dir.
 */
final class Site implements AutoCloseable {
    final TestBed bed;
    final String name;
    /** The first VIP: the one {@link #url} names. */
    final String vip;
    final List<String> vips;
    final Path dir;
    final Path conf;
    String bigSha256;
    long bigBytes;
    private boolean closed;

    Site(TestBed bed, String name, String vip, String rate) {
        this(bed, name, List.of(vip), rate);
    }

    Site(TestBed bed, String name, List<String> vips, String rate) {
        this.bed = bed;
        this.name = name;
        this.vip = vips.get(0);
        this.vips = List.copyOf(vips);
        try {
            dir = Files.createTempDirectory("svcmove-it-" + name + "-");
            Files.createDirectories(dir.resolve("www"));
            Files.writeString(dir.resolve("www/index.html"), "hello from " + name + "\n");
            conf = dir.resolve("nginx.conf");
            Files.writeString(conf, "user root;\ndaemon off;\nworker_processes 1;\npid " + dir.resolve("nginx.pid")
                    + ";\nerror_log stderr warn;\nevents {}\nhttp {\n  access_log off;\n  server {\n"
                    + String.join("", vips.stream().map(v -> "    listen " + It.urlHost(v) + ":80;\n").toList()) + "    root " + dir.resolve("www") + ";\n    limit_rate " + rate + ";\n  }\n}\n");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Writes www/big.bin, MB mebibytes from /dev/urandom, and keeps its sha256 to compare downloads with. */
    Site withBigFile(int mb) {
        Path big = dir.resolve("www/big.bin");
        bed.execOutside(Duration.ofSeconds(60), "sh", "-c", "head -c " + mb + "M /dev/urandom > \"$0\"", big.toString())
                .requireOk();
        bigBytes = (long) mb << 20;
        bigSha256 = Downloads.sha256(big);
        return this;
    }

    String url(String file) {
        return url(vip, file);
    }

    /** FILE at one of the site's VIPs. */
    String url(String at, String file) {
        return "http://" + It.urlHost(at) + "/" + file;
    }

    /** The plain nginx command. */
    List<String> nginx() {
        return List.of("/usr/sbin/nginx", "-c", conf.toString());
    }

    /** `svcmove run NAME --vip VIP/LEN -- CMD` on NODE, as is (the caller checks the result). */
    ExecResult run(String node, List<String> cmd, String... options) {
        List<String> args = new ArrayList<>(List.of("run", name));
        vips.forEach(v -> args.addAll(List.of("--vip", It.cidr(bed, v))));
        args.addAll(List.of(options));
        args.add("--");
        args.addAll(cmd);
        return bed.svcmove(node, args.toArray(String[]::new));
    }

    /** Starts nginx on NODE and waits until the client gets index.html from the VIP. */
    Site start(String node) {
        return start(node, nginx());
    }

    Site start(String node, List<String> cmd) {
        ExecResult r = run(node, cmd);
        if (!r.ok()) {
            throw new AssertionError("could not start " + name + " on " + node + ":\n" + r.describe());
        }
        Wait.until(It.SHORT, name + " answers the client at " + url("index.html"),
                () -> It.httpCode(bed, url("index.html")).equals("200"));
        return this;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        Services.stopEverywhere(bed, name);
        It.deleteTree(dir);
    }
}
