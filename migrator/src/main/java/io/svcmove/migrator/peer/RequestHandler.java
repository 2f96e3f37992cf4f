package io.svcmove.migrator.peer;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Answers one type of request from a peer. Runs on the server's executor, never on an event loop,
 * so it may block. The result is converted to JSON with Jackson (null gives a JSON null); an
 * exception becomes an error reply carrying its message, which the caller receives as a
 * {@link PeerCallException}.
 */
@FunctionalInterface
public interface RequestHandler {
    Object handle(String peerNode, JsonNode body) throws Exception;
}
