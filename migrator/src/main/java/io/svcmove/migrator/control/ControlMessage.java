package io.svcmove.migrator.control;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The CLI socket's protocol: one JSON request per connection, then any number of {@code event}
 * lines (progress of long work) and one final {@code result} or {@code error} line.
 */
public final class ControlMessage {
    public static final ObjectMapper JSON = new ObjectMapper();
    public static final int VERSION = 1;

    private ControlMessage() {}

    public static ObjectNode request(String op) {
        return JSON.createObjectNode().put("v", VERSION).put("op", op);
    }

    public static ObjectNode event(JsonNode body) {
        ObjectNode n = JSON.createObjectNode();
        n.set("event", body);
        return n;
    }

    public static ObjectNode result(JsonNode body) {
        ObjectNode n = JSON.createObjectNode();
        n.set("result", body);
        return n;
    }

    public static ObjectNode error(Outcome outcome, String message) {
        ObjectNode n = JSON.createObjectNode();
        n.putObject("error").put("outcome", outcome.name()).put("message", message);
        return n;
    }
}
