package io.svcmove.migrator.peer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;

/**
 * One frame of the peer protocol, whatever its bytes, straight to the codec: a message that
 * encodes back to the same message, or the connection closed with a reason; nothing leaks.
 */
class PeerCodecFuzzTest {
    /** One frame, straight to the codec. */
    @FuzzTest(maxDuration = "10s")
    void frame(byte[] frame) {
        EmbeddedChannel ch = new EmbeddedChannel(new MessageCodec(), HandlersTest.ConnectionGuardTail.capture());
        ch.writeInbound(Unpooled.wrappedBuffer(frame));
        PeerMessage m = ch.readInbound();
        if (m == null) {
            assertFalse(ch.isOpen(), "a frame that yields no message closes the connection");
            checkClosedWithReason(ch);
            return;
        }
        assertTrue(ch.isOpen());
        roundTrip(m);
        ch.finishAndReleaseAll();
    }

    static void checkClosedWithReason(EmbeddedChannel ch) {
        ch.checkException();
        if (!ch.isOpen()) {
            Throwable cause = ch.attr(PeerEvents.CLOSE_CAUSE).get();
            assertNotNull(cause, "closed without a recorded reason");
            assertNotNull(cause.getMessage(), "closed without a reason: " + cause);
        }
    }

    /** decode(encode(m)) == m; chunks by their bytes. Releases m. */
    static void roundTrip(PeerMessage m) {
        EmbeddedChannel out = new EmbeddedChannel(new MessageCodec());
        EmbeddedChannel in = new EmbeddedChannel(new MessageCodec(), HandlersTest.ConnectionGuardTail.capture());
        byte[] chunkData = m instanceof PeerMessage.Chunk c ? ByteBufUtil.getBytes(c.data()) : null;
        out.writeOutbound(m);
        ByteBuf encoded = out.readOutbound();
        in.writeInbound(encoded);
        PeerMessage back = in.readInbound();
        assertNotNull(back, () -> m + " encodes to a frame that does not decode: " + in.attr(PeerEvents.CLOSE_CAUSE).get());
        if (m instanceof PeerMessage.Chunk c) {
            PeerMessage.Chunk b = (PeerMessage.Chunk) back;
            assertEquals(c.stream(), b.stream());
            assertEquals(c.file(), b.file());
            assertEquals(new String(chunkData, StandardCharsets.ISO_8859_1),
                    new String(ByteBufUtil.getBytes(b.data()), StandardCharsets.ISO_8859_1));
            // (No refCnt check: a chunk's data is a slice of the frame decoder's buffer, which it holds.)
            b.release();
        } else {
            assertEquals(m, back, "a decoded message encodes back to another one");
        }
        out.finishAndReleaseAll();
        in.finishAndReleaseAll();
    }

    static void releaseAll(java.util.Queue<Object> q) {
        for (Object o; (o = q.poll()) != null; ) {
            io.netty.util.ReferenceCountUtil.release(o);
        }
    }

    static byte[] frame(byte kind, byte[] body) {
        byte[] f = new byte[4 + 1 + body.length];
        int n = 1 + body.length;
        f[0] = (byte) (n >>> 24);
        f[1] = (byte) (n >>> 16);
        f[2] = (byte) (n >>> 8);
        f[3] = (byte) n;
        f[4] = kind;
        System.arraycopy(body, 0, f, 5, body.length);
        return f;
    }
}
