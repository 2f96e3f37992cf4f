package io.svcmove.migrator.peer;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * What a peer can send after TLS, on the handlers of the real pipeline (framing, hello, codec) on
 * an EmbeddedChannel. Whatever the bytes: no exception escapes the pipeline, a closed connection
 * has a reason, nothing leaks, and every message that decodes encodes back to the same message.
 */
class PeerStreamFuzzTest {
    private static final byte[] HELLO = PeerCodecFuzzTest.frame(Wire.KIND_HELLO,
            ("{\"protocol\":" + Wire.PROTOCOL + ",\"node\":\"node1\"}").getBytes(StandardCharsets.UTF_8));

    /** A byte stream cut into reads of any size; mostly after a good hello, so that the fuzzer reaches the codec. */
    @FuzzTest(maxDuration = "10s")
    void stream(FuzzedDataProvider data) {
        EmbeddedChannel ch = new EmbeddedChannel();
        ch.attr(PeerEvents.PEER_NODE).set("node1");
        PeerPipeline.addFraming(ch.pipeline());
        ch.pipeline().addLast(new VersionCheck("node2", Wire.PROTOCOL));
        ch.pipeline().addLast(new MessageCodec());
        ch.pipeline().addLast(HandlersTest.ConnectionGuardTail.capture());
        ch.pipeline().fireUserEventTriggered(new PeerEvents.Authenticated("node1"));
        PeerCodecFuzzTest.releaseAll(ch.outboundMessages());
        if (data.consumeBoolean()) {
            ch.writeInbound(Unpooled.wrappedBuffer(HELLO));
        }
        List<PeerMessage> got = new ArrayList<>();
        while (data.remainingBytes() > 0 && ch.isOpen()) {
            byte[] read = data.consumeBytes(data.consumeInt(1, 512));
            ch.writeInbound(Unpooled.wrappedBuffer(read));
            for (Object m; (m = ch.readInbound()) != null; ) {
                got.add((PeerMessage) m);
            }
        }
        PeerCodecFuzzTest.checkClosedWithReason(ch);
        for (PeerMessage m : got) {
            PeerCodecFuzzTest.roundTrip(m);
        }
        ch.finishAndReleaseAll();
    }

}
