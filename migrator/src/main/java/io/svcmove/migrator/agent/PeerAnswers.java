package io.svcmove.migrator.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.svcmove.migrator.config.AgentConfig;
import io.svcmove.migrator.control.ControlMessage;
import io.svcmove.migrator.peer.PeerClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.UnaryOperator;

/**
 * A question every node answers for itself (`svcmove nodes`, `svcmove moves`): this node's answer and
 * each peer's, asked at once. A peer that does not answer in time is listed as unreachable, with
 * why, and never fails the whole answer.
 */
final class PeerAnswers {
    private PeerAnswers() {}

    /** {@code {node, nodes: [here, each peer (passed through perPeer when it answered: {@code reachable} true)]}}. */
    static ObjectNode fromAll(AgentConfig config, PeerClient peers, String type, Duration ask, JsonNode here,
            UnaryOperator<JsonNode> perPeer) {
        List<CompletableFuture<JsonNode>> answers = new ArrayList<>();
        for (AgentConfig.Peer p : config.peers()) {
            answers.add(peers.call(p.name(), type, ControlMessage.JSON.createObjectNode(), ask)
                    .exceptionally(e -> ControlMessage.JSON.createObjectNode().put("node", p.name()).put("address", p.address())
                            .put("reachable", false).put("error", (e.getCause() != null ? e.getCause() : e).getMessage())));
        }
        ObjectNode out = ControlMessage.JSON.createObjectNode().put("node", config.node());
        ArrayNode list = out.putArray("nodes");
        list.add(here);
        // perPeer may block (more peer calls): here, never on the thread that completed the answer.
        answers.stream().map(CompletableFuture::join).forEach(a -> list.add(a.path("reachable").asBoolean() ? perPeer.apply(a) : a));
        return out;
    }
}
