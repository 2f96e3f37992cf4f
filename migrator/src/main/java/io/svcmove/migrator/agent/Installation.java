package io.svcmove.migrator.agent;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where svcmove's helper binaries are: beside the installed jar ($SVCMOVE_LIB, set by
 * `make install`'s wrapper) or in a checkout's native/build ($SVCMOVE_HOME, set by bin/svcmove).
 */
public final class Installation {
    private Installation() {}

    public static Path launcher() {
        return find("svcmove-launch", "svcmove-launch");
    }

    /** $SVCMOVE_CRIU names another CRIU (a test, or a CRIU built elsewhere). */
    public static Path criu() {
        String override = System.getenv("SVCMOVE_CRIU");
        if (override != null && !override.isBlank()) {
            if (!Files.isExecutable(Path.of(override))) {
                throw new IllegalStateException("$SVCMOVE_CRIU names " + override + ", which is not an executable");
            }
            return Path.of(override);
        }
        return find("criu", "criu-bin");
    }

    private static Path find(String installedName, String checkoutName) {
        String lib = System.getenv("SVCMOVE_LIB");
        if (lib != null && Files.isExecutable(Path.of(lib, installedName))) {
            return Path.of(lib, installedName);
        }
        String home = System.getenv("SVCMOVE_HOME");
        if (home != null && Files.isExecutable(Path.of(home, "native", "build", checkoutName))) {
            return Path.of(home, "native", "build", checkoutName);
        }
        throw new IllegalStateException(installedName + " not found under $SVCMOVE_LIB or $SVCMOVE_HOME/native/build:"
                + " run 'make install', or 'make build' in the checkout and start svcmove through bin/svcmove");
    }
}
