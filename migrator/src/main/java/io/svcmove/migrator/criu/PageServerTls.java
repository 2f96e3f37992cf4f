package io.svcmove.migrator.criu;

import java.nio.file.Path;
import java.util.List;

/**
 * The cluster's certificates for CRIU's page server (GnuTLS): the server requires a client
 * certificate signed by the CA, the client checks the server's against the address it dials. So
 * the memory of a lazily moved service is read only by a cluster member, encrypted.
 */
public record PageServerTls(Path ca, Path cert, Path key) {
    List<String> cliArgs() {
        return List.of("--tls", "--tls-cacert", ca.toString(), "--tls-cert", cert.toString(), "--tls-key", key.toString());
    }
}
