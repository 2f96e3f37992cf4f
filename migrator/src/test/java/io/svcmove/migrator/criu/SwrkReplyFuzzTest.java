package io.svcmove.migrator.criu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;

/**
 * A packet from criu swrk, whatever it holds: a criu_resp that re-encodes to itself and whose
 * every part svcmove reads (error text, version, notification, status) reads without an
 * exception, or an IOException naming criu swrk.
 */
class SwrkReplyFuzzTest {

    @FuzzTest(maxDuration = "10s")
    void reply(FuzzedDataProvider data) throws Exception {
        int status = data.consumeInt();
        boolean truncated = data.consumeBoolean();
        byte[] packet = data.consumeRemainingAsBytes();
        byte[] buf = new byte[Math.max(packet.length, 16)];
        System.arraycopy(packet, 0, buf, 0, packet.length);
        long n = truncated ? buf.length + 1L : packet.length;
        CriuRpc.CriuResp r;
        try {
            r = SwrkProcess.decode(buf, n);
        } catch (IOException e) {
            assertTrue(e.getMessage() != null && e.getMessage().contains("criu swrk"), e::toString);
            return;
        }
        if (packet.length == 0) {
            assertNull(r);
            return;
        }
        assertNotNull(r);
        assertEquals(r, CriuRpc.CriuResp.parseFrom(r.toByteArray()));
        String err = SwrkCriu.errorOf(r);
        assertTrue(err != null && !err.isBlank());
        if (r.hasVersion()) {
            CriuVersion v = CriuVersion.fromRpc(r.getVersion());
            assertNotNull(v.toString());
            assertEquals(0, v.compareTo(v));
        }
        if (r.hasNotify()) {
            new CriuNotification(r.getNotify().getScript(), r.getNotify().getPid()).phase();
        }
        r.getType();
        assertNotNull(SwrkCriu.describeStatus(status));
    }
}
