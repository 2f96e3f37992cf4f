package io.svcmove.migrator.peer;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Chooses where an incoming transfer is written (e.g. a directory on tmpfs). The directory must
 * not exist yet: the receiver creates it with mode 0700 (its parents as needed) and each file 0600.
 * Runs on the server's executor.
 */
@FunctionalInterface
public interface TransferTarget {
    Path directoryFor(String peerNode, String transferId) throws IOException;
}
