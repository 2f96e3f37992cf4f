package io.svcmove.migrator.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.svcmove.migrator.control.ControlException;
import io.svcmove.migrator.control.ControlMessage;
import io.svcmove.migrator.control.Outcome;
import io.svcmove.migrator.peer.RequestHandler;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

class AuditTest {
    private static final Caller ROOT = new Caller.Local(321, 0, "1000", "svcmove move web node2");
    private final Logger logger = (Logger) LoggerFactory.getLogger("io.svcmove.audit");
    private final ListAppender<ILoggingEvent> lines = new ListAppender<>();

    @BeforeEach
    void capture() {
        lines.start();
        logger.addAppender(lines);
        logger.setLevel(Level.INFO);
    }

    @AfterEach
    void release() {
        logger.detachAppender(lines);
    }

    private List<String> logged() {
        return lines.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
    }

    private static ObjectNode json(String text) throws Exception {
        return (ObjectNode) ControlMessage.JSON.readTree(text);
    }

    @Test
    void aRefusedMoveIsLoggedWithItsCallerAndRethrown() throws Exception {
        ControlException refused = new ControlException(Outcome.REFUSED, "node2 is draining");
        ControlException thrown = assertThrows(ControlException.class, () -> Audit.request("move",
                json("{\"op\":\"move\",\"name\":\"web\",\"node\":\"node2\"}"), ROOT, () -> {
                    throw refused;
                }));
        assertSame(refused, thrown);
        String line = logged().get(0);
        assertTrue(line.matches("AUDIT op=move service=web node=node2 caller=cli pid=321 uid=0 loginuid=1000"
                + " cmdline=\"svcmove move web node2\" outcome=refused exit=3 duration_ms=\\d+ message=\"node2 is draining\""), line);
    }

    @Test
    void anOkRunHasNoMessageAndReadOnlyRequestsNoLine() throws Exception {
        Audit.request("status", json("{\"op\":\"status\"}"), ROOT, () -> json("{}"));
        assertEquals(List.of(), logged());
        Audit.request("run", json("{\"op\":\"run\",\"name\":\"web\"}"), ROOT, () -> json("{\"name\":\"web\"}"));
        assertTrue(logged().get(0).matches("AUDIT op=run service=web caller=cli .* outcome=ok exit=0 duration_ms=\\d+"), logged()::toString);
    }

    @Test
    void anUnexpectedErrorIsInternalAsTheCliSeesIt() throws Exception {
        assertThrows(IllegalStateException.class, () -> Audit.request("stop", json("{\"name\":\"web\"}"), ROOT, () -> {
            throw new IllegalStateException("bug");
        }));
        assertTrue(logged().get(0).contains(" outcome=internal exit=70 "), logged()::toString);
    }

    @Test
    void aDrainWithFailedMovesFailsAndCountsThem() throws Exception {
        Audit.request("drain", json("{\"node\":\"node1\"}"), ROOT, () -> json("{\"node\":\"node1\",\"moved\":2,\"failed\":1}"));
        assertTrue(logged().get(0).matches("AUDIT op=drain node=node1 caller=cli .* outcome=failed exit=1 duration_ms=\\d+ moved=2 failed=1"),
                logged()::toString);
    }

    @Test
    void forwardedRequestsAnswerTheirOutcome() throws Exception {
        assertEquals(Outcome.ROLLED_BACK, Audit.outcomeOf(json("{\"ok\":false,\"outcome\":\"ROLLED_BACK\",\"message\":\"m\"}")));
        assertEquals(Outcome.FAILED, Audit.outcomeOf(json("{\"ok\":false,\"outcome\":\"NONSENSE\"}")));
        assertEquals(Outcome.OK, Audit.outcomeOf(json("{\"ok\":true,\"report\":{}}")));
        assertEquals(Outcome.OK, Audit.outcomeOf(null));
        assertEquals("rolled-back", Audit.word(Outcome.ROLLED_BACK));
    }

    @Test
    void aPeerUndrainNamesThePeerNode() throws Exception {
        RequestHandler mark = Audit.peer("node.drain", (peer, body) -> json("{\"draining\":false}"));
        mark.handle("node2", json("{\"draining\":false}"));
        assertTrue(logged().get(0).matches("AUDIT op=undrain caller=peer peer=node2 outcome=ok exit=0 duration_ms=\\d+"), logged()::toString);
    }

    @Test
    void aDestinationThatCannotPrepareRefusesTheMove() throws Exception {
        RequestHandler prepare = Audit.peer("move.prepare", (peer, body) -> {
            throw new IllegalStateException("node2 is draining");
        });
        assertThrows(IllegalStateException.class, () -> prepare.handle("node1",
                json("{\"move_id\":\"m-1\",\"service\":{\"name\":\"web\"}}")));
        assertTrue(logged().get(0).matches("AUDIT op=move-in step=prepare service=web move=m-1 caller=peer peer=node1"
                + " outcome=refused exit=3 duration_ms=\\d+ message=\"node2 is draining\""), logged()::toString);
    }

    @Test
    void peerRequestsThatChangeNothingAreNotWrapped() {
        RequestHandler info = (peer, body) -> null;
        assertSame(info, Audit.peer("node.info", info));
    }

    @Test
    void aLongFailureMessageIsCut() throws Exception {
        JsonNode req = json("{\"name\":\"web\"}");
        String line = AuditLine.format(Audit.fields("stop", null, req, ROOT, Outcome.FAILED, 5, null, "x".repeat(1000)));
        assertTrue(line.endsWith("message=" + "x".repeat(Audit.MAX_MESSAGE) + "..."), line);
    }
}
