package io.svcmove.migrator.move;

import io.svcmove.migrator.criu.CriuDaemon;
import io.svcmove.migrator.criu.PageServerTls;
import io.svcmove.migrator.pki.ClusterPki;
import io.svcmove.migrator.pki.MovePageAuthority;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The destination's end of a streamed eager move: a {@code criu page-server} into which the
 * source's dump writes the service's memory as it reads it, so that nothing but the few other
 * images crosses after the dump, and the source never holds a copy of the memory. Narrowed to the
 * move before it listens, as a lazy move's page server is on the source: it trusts only a CA made
 * for the move, which certifies the source's own node key under its name and address, and the
 * firewall lets only that address reach its port. It is opened at prepare, before the freeze.
 */
final class PageSink implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(PageSink.class);
    /** Where CRIU writes the pages, beside the images (the transfer creates those, and wants its directory new). */
    static final String DIR = "streamed-pages";
    private static final String PAGE_CA = "page-ca.crt";
    /** The page CA lives no longer than the move can take to reach its dump, and a margin. */
    private static final Duration MARGIN = Duration.ofMinutes(2);

    private final String moveId;
    private final String from;
    private final CriuDaemon server;
    private final Path dir;
    private final int port;
    private final String certificate;

    private PageSink(String moveId, String from, CriuDaemon server, Path dir, int port, String certificate) {
        this.moveId = moveId;
        this.from = from;
        this.server = server;
        this.dir = dir;
        this.port = port;
        this.certificate = certificate;
    }

    /** Starts CRIU's page server for one move; in tests, a fake. */
    @FunctionalInterface
    interface Starter {
        CriuDaemon start(Path pagesDir, Path workDir, String address, int port, PageServerTls tls) throws Exception;
    }

    /**
     * Opens the sink of move {@code moveId} from {@code from} in {@code workDir}, listening on
     * {@code address}: {@code sourcePem} is the source's node certificate (checked against {@code
     * clusterCa}), {@code sourceAddress} its address.
     */
    static PageSink open(String moveId, String from, String sourcePem, InetAddress sourceAddress, X509Certificate clusterCa,
            Path workDir, String address, PageServerTls tls, Duration validity, Starter starter) throws Exception {
        X509Certificate source = ClusterPki.peerCertificate(from, sourcePem, clusterCa);
        MovePageAuthority ca = MovePageAuthority.create(moveId, validity.plus(MARGIN));
        Path caFile = workDir.resolve(PAGE_CA);
        ca.writeCertificate(caFile);
        String issued = ClusterPki.toPem(ca.issue(source, sourceAddress));
        Path dir = Files.createDirectory(workDir.resolve(DIR));
        int port = LazySupport.freePort(address);
        PageFirewall.open(firewallId(moveId), port, sourceAddress);
        try {
            CriuDaemon server = starter.start(dir, workDir, address, port, tls.trusting(caFile));
            log.info("move {}: page server {}:{} takes the pages only from {} at {}, with a certificate made for this move", moveId,
                    address, port, from, sourceAddress.getHostAddress());
            return new PageSink(moveId, from, server, dir, port, issued);
        } catch (Exception e) {
            closeFirewall(moveId, from);
            throw e;
        }
    }

    int port() {
        return port;
    }

    /** The source's page certificate (PEM): its own key, certified by this move's CA. */
    String certificate() {
        return certificate;
    }

    /**
     * The dump has ended on the source: waits for the page server to end too (at once, unless its
     * last pages are still on the way), and puts what it received beside the other images.
     *
     * @throws Exception when not every page arrived: the move cannot be restored
     */
    void received(Path images, Duration timeout) throws Exception {
        server.await(timeout);
        closeFirewall(moveId, from);
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(f -> f.getFileName().toString().startsWith("page")).toList();
        }
        for (Path f : files) {
            Files.move(f, images.resolve(f.getFileName()));
        }
    }

    /** The page server goes if it still runs (the move is over or dropped), and its rule. */
    @Override
    public void close() {
        server.close();
        closeFirewall(moveId, from);
    }

    /** The destination's rule is named apart from a lazy move's (on its source) for the same id. */
    private static String firewallId(String moveId) {
        return moveId + "_in";
    }

    private static void closeFirewall(String moveId, String from) {
        PageFirewall.closeLogged(firewallId(moveId), from);
    }

    /**
     * At start: what an agent that stopped mid-move left of its sinks (every incoming move before
     * ARRIVED dies with its agent): their rules, and page servers still waiting for a dump that
     * will not come, found by CRIU's binary and by their page directory under {@code imagePrefix}
     * ({@code criuBinary} null: this node has no CRIU, so no page server of its own can be left).
     */
    static void removeLeftovers(Path criuBinary, String imagePrefix) {
        try {
            for (String table : PageFirewall.tables(firewallId(""))) {
                PageFirewall.delete(table);
                log.warn("removed the firewall rule {} of a streamed move that did not finish", table);
            }
        } catch (IOException e) {
            log.warn("cannot remove the firewall rules of streamed moves that did not finish: {}", e.getMessage());
        }
        if (criuBinary == null) {
            return;
        }
        String binary;
        try {
            binary = criuBinary.toRealPath().toString();
        } catch (IOException e) {
            return;
        }
        ProcessHandle.allProcesses().filter(p -> p.info().command().filter(binary::equals).isPresent())
                .filter(p -> p.info().arguments().map(List::of).filter(a -> a.contains("page-server")
                        && a.stream().anyMatch(x -> x.contains("/" + imagePrefix) && x.endsWith("/" + DIR))).isPresent())
                .forEach(p -> {
                    p.destroyForcibly();
                    log.warn("stopped CRIU's page server pid {}, of a streamed move that did not finish", p.pid());
                });
    }
}
