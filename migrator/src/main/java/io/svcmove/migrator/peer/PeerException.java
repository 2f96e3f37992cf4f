package io.svcmove.migrator.peer;

import java.io.IOException;

/** A peer could not be reached, refused this node, broke the protocol, or did not answer in time. */
public class PeerException extends IOException {
    private static final long serialVersionUID = 1L;

    public PeerException(String message) {
        super(message);
    }

    public PeerException(String message, Throwable cause) {
        super(message, cause);
    }
}
