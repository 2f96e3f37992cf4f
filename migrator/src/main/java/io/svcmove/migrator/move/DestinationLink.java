package io.svcmove.migrator.move;

import io.svcmove.migrator.peer.Messages;
import io.svcmove.migrator.peer.PeerClient;
import io.svcmove.migrator.peer.ProgressListener;
import java.nio.file.Path;
import java.time.Duration;

/**
 * How the source's step table reaches the destination: typed calls of the move's messages and the
 * images sent (the agents' mutual-TLS channel on a node, a fake in tests). A call that fails with
 * {@link io.svcmove.migrator.peer.PeerCallException} was answered; any other failure may have
 * been lost after the destination acted.
 */
interface DestinationLink {
    <T> T call(String node, String type, Object request, Class<T> reply, Duration timeout) throws Exception;

    /** Sends every file under {@code dir} as transfer {@code moveId}; the bytes sent. */
    long send(String node, String moveId, Path dir, ProgressListener progress) throws Exception;

    static DestinationLink over(PeerClient peers) {
        return new DestinationLink() {
            @Override
            public <T> T call(String node, String type, Object request, Class<T> reply, Duration timeout) throws Exception {
                return Peers.call(peers, node, type, request, reply, timeout);
            }

            @Override
            public long send(String node, String moveId, Path dir, ProgressListener progress) throws Exception {
                return Messages.await(peers.sendFiles(node, moveId, dir, progress)).bytes();
            }
        };
    }
}
