package io.svcmove.migrator.move;

import io.svcmove.migrator.criu.CriuException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * CRIU writes its log into the images directory, which a failed move deletes (it holds process
 * memory). The log of a failed dump or restore is kept in the agent's log directory instead.
 */
final class CriuLogs {
    private static final Logger log = LoggerFactory.getLogger(CriuLogs.class);

    @FunctionalInterface
    interface CriuCall<T> {
        T run() throws CriuException, InterruptedException;
    }

    private CriuLogs() {}

    static <T> T keptOnFailure(Path logDir, String moveId, CriuCall<T> call) throws CriuException, InterruptedException {
        try {
            return call.run();
        } catch (CriuException e) {
            if (e.log() != null && Files.exists(e.log())) {
                Path kept = logDir.resolve("criu-" + moveId + "-" + e.log().getFileName());
                try {
                    Files.copy(e.log(), kept, StandardCopyOption.REPLACE_EXISTING);
                    log.warn("CRIU's log of the failed move {} is kept in {}", moveId, kept);
                } catch (IOException copyFailed) {
                    e.addSuppressed(copyFailed);
                }
            }
            throw e;
        }
    }
}
