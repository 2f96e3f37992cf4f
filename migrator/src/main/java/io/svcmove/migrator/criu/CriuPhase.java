package io.svcmove.migrator.criu;

import java.util.Arrays;
import java.util.Optional;

/** The moments CRIU announces (its action-script names), where the phases of a move hook in. */
public enum CriuPhase {
    PRE_DUMP("pre-dump"),
    NETWORK_LOCK("network-lock"),
    POST_DUMP("post-dump"),
    PRE_RESTORE("pre-restore"),
    SETUP_NAMESPACES("setup-namespaces"),
    POST_SETUP_NAMESPACES("post-setup-namespaces"),
    POST_RESTORE("post-restore"),
    NETWORK_UNLOCK("network-unlock"),
    PRE_RESUME("pre-resume"),
    POST_RESUME("post-resume");

    private final String scriptName;

    CriuPhase(String scriptName) {
        this.scriptName = scriptName;
    }

    /** CRIU's own word for the phase, used unchanged in svcmove's logs and output. */
    public String scriptName() {
        return scriptName;
    }

    public static Optional<CriuPhase> of(String scriptName) {
        return Arrays.stream(values()).filter(p -> p.scriptName.equals(scriptName)).findFirst();
    }

    @Override
    public String toString() {
        return scriptName;
    }
}
