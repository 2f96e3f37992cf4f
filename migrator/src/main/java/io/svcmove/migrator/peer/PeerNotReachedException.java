package io.svcmove.migrator.peer;

/**
 * No connection to the peer could be made, so the request never left this node: unlike a call
 * whose answer was lost, the peer cannot have acted on it.
 */
public final class PeerNotReachedException extends PeerException {
    private static final long serialVersionUID = 1L;

    public PeerNotReachedException(String message, Throwable cause) {
        super(message, cause);
    }
}
