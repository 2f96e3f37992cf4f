package io.svcmove.migrator.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AuditLineTest {
    @Test
    void plainValuesStayBareInOrder() {
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("op", "move");
        f.put("service", "web");
        f.put("pid", 123);
        f.put("outcome", "ok");
        assertEquals("AUDIT op=move service=web pid=123 outcome=ok", AuditLine.format(f));
    }

    @Test
    void spacesAndQuotesAreQuoted() {
        assertEquals("\"svcmove web node2\"", AuditLine.value("svcmove web node2"));
        assertEquals("\"a\\\"b\\\\c\"", AuditLine.value("a\"b\\c"));
        assertEquals("\"\"", AuditLine.value(""));
    }

    @Test
    void aNewlineCannotForgeASecondLine() {
        String forged = AuditLine.value("x\nAUDIT op=stop outcome=ok\u0001");
        assertEquals("\"x\\nAUDIT op=stop outcome=ok\\x01\"", forged);
        assertEquals(-1, forged.indexOf('\n'));
    }

    @Test
    void anEqualsSignInAValueIsQuoted() {
        assertEquals("\"web outcome=ok\"", AuditLine.value("web outcome=ok"));
        assertEquals("\"a=b\"", AuditLine.value("a=b"));
    }
}
