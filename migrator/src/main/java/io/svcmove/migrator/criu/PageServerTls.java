package io.svcmove.migrator.criu;

import java.nio.file.Path;
import java.util.List;

/**
 * Certificates for CRIU's page server (GnuTLS): the server requires a client certificate signed by
 * {@code ca}, the client checks the server's against {@code ca} and the address it dials. A node
 * starts from its own cluster certificates; a lazy move narrows them to that move (the source
 * trusts only the move's page CA, the destination presents the certificate it issued).
 */
public record PageServerTls(Path ca, Path cert, Path key) {
    public PageServerTls trusting(Path otherCa) {
        return new PageServerTls(otherCa, cert, key);
    }

    public PageServerTls presenting(Path otherCert) {
        return new PageServerTls(ca, otherCert, key);
    }

    List<String> cliArgs() {
        return List.of("--tls", "--tls-cacert", ca.toString(), "--tls-cert", cert.toString(), "--tls-key", key.toString());
    }
}
