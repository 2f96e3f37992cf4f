package io.svcmove.migrator.peer;

/** The peer ran the request and its handler failed; the message is the handler's. */
public final class PeerCallException extends PeerException {
    private static final long serialVersionUID = 1L;
    private final String node;
    private final String type;
    private final String remoteMessage;

    public PeerCallException(String node, String type, String remoteMessage) {
        super(node + " failed '" + type + "': " + remoteMessage);
        this.node = node;
        this.type = type;
        this.remoteMessage = remoteMessage;
    }

    public String node() {
        return node;
    }

    public String type() {
        return type;
    }

    /** The failure as the remote handler reported it, without the node and type prefix. */
    public String remoteMessage() {
        return remoteMessage;
    }
}
