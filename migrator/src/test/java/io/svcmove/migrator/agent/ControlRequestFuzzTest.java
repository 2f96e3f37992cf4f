package io.svcmove.migrator.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.JsonNode;
import io.svcmove.migrator.control.ControlException;
import io.svcmove.migrator.control.ControlMessage;
import io.svcmove.migrator.control.Outcome;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A request line on the CLI socket, whatever it holds: the answer is always one object with
 * either a {@code result} or an {@code error} (a known outcome and a message), and every line the
 * agent writes is one line of JSON that reads back as written.
 */
class ControlRequestFuzzTest {
    private static final Caller CALLER = new Caller.Local(1, 0, "unset", "svcmove fuzz");
    private static final Map<String, ControlServer.Handler> HANDLERS = Map.of(
            "echo", (req, events) -> req,
            "events", (req, events) -> {
                events.send(req.path("event"));
                return req.path("result");
            },
            "refuse", (req, events) -> {
                throw new ControlException(Outcome.REFUSED, req.path("why").asText());
            },
            "boom", (req, events) -> {
                throw new IllegalStateException(req.path("why").textValue());
            });

    @FuzzTest(maxDuration = "10s")
    void request(FuzzedDataProvider data) throws Exception {
        String line = data.consumeRemainingAsString();
        // What readLine hands over: up to the first line break.
        line = line.substring(0, Math.min(indexOr(line, '\n'), indexOr(line, '\r')));
        List<JsonNode> events = new ArrayList<>();
        JsonNode answer = ControlServer.answer(line, HANDLERS, e -> events.add(ControlMessage.event(e)), CALLER);
        assertTrue(answer.isObject() && answer.size() == 1 && (answer.has("result") || answer.has("error")), answer::toString);
        if (answer.has("error")) {
            JsonNode err = answer.get("error");
            assertTrue(Arrays.stream(Outcome.values()).anyMatch(o -> o.name().equals(err.path("outcome").asText())), err::toString);
            assertTrue(err.path("message").isTextual(), err::toString);
        }
        events.add(answer);
        for (JsonNode n : events) {
            String written = ControlMessage.JSON.writeValueAsString(n);
            assertFalse(written.contains("\n"), "an answer spans lines: " + written);
            assertEquals(n, ControlMessage.JSON.readTree(written));
        }
    }

    private static int indexOr(String s, char c) {
        int i = s.indexOf(c);
        return i < 0 ? s.length() : i;
    }
}
