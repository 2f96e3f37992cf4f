package io.svcmove.migrator.peer;

/** The other end sent something this protocol does not allow; the connection is closed. */
final class PeerProtocolException extends PeerException {
    private static final long serialVersionUID = 1L;

    PeerProtocolException(String message) {
        super(message);
    }
}
