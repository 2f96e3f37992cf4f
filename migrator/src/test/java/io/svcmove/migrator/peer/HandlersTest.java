package io.svcmove.migrator.peer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Each handler alone, on an EmbeddedChannel: no TLS, no sockets. */
class HandlersTest {

    private static EmbeddedChannel framing() {
        EmbeddedChannel ch = new EmbeddedChannel();
        PeerPipeline.addFraming(ch.pipeline());
        ch.pipeline().addLast(ConnectionGuardTail.capture());
        return ch;
    }

    @Test
    void framesSplitAcrossReadsAreReassembled() {
        EmbeddedChannel ch = framing();
        ByteBuf wire = Unpooled.buffer().writeInt(5).writeBytes("hello".getBytes(StandardCharsets.US_ASCII));
        ch.writeInbound(wire.readRetainedSlice(3));
        assertNull(ch.readInbound());
        ch.writeInbound(wire.readRetainedSlice(wire.readableBytes()));
        wire.release();
        ByteBuf frame = ch.readInbound();
        assertEquals("hello", frame.toString(StandardCharsets.US_ASCII));
        frame.release();

        ch.writeOutbound(Unpooled.wrappedBuffer(new byte[] {1, 2, 3}));
        ByteBuf len = ch.readOutbound();
        assertEquals(3, len.readInt());
        len.release();
        ((ByteBuf) ch.readOutbound()).release();
    }

    @Test
    void oversizeFrameClosesTheConnection() {
        EmbeddedChannel ch = new EmbeddedChannel();
        PeerPipeline.addFraming(ch.pipeline());
        ch.pipeline().addLast(ConnectionGuard.INSTANCE);
        ch.writeInbound(Unpooled.buffer().writeInt(Wire.MAX_FRAME + 1).writeZero(16));
        assertFalse(ch.isOpen());
        assertTrue(cause(ch).contains("16 MiB"), cause(ch));
    }

    // --- version check

    private static EmbeddedChannel versionCheck(String peer, List<Object> events) {
        EmbeddedChannel ch = new EmbeddedChannel();
        ch.attr(PeerEvents.PEER_NODE).set(peer);
        ch.pipeline().addLast(new VersionCheck("node2", 1));
        ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
            @Override
            public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                events.add(evt);
            }
        });
        ch.pipeline().addLast(ConnectionGuard.INSTANCE);
        ch.pipeline().fireUserEventTriggered(new PeerEvents.Authenticated(peer));
        return ch;
    }

    private static ByteBuf hello(String json) {
        return Unpooled.buffer().writeByte(Wire.KIND_HELLO).writeBytes(json.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void helloExchangeSendsOursAndAcceptsTheirs() throws Exception {
        List<Object> events = new ArrayList<>();
        EmbeddedChannel ch = versionCheck("node1", events);
        ByteBuf sent = ch.readOutbound();
        assertEquals(Wire.KIND_HELLO, sent.readByte());
        JsonNode ours = Wire.JSON.readTree(sent.toString(StandardCharsets.UTF_8));
        sent.release();
        assertEquals(1, ours.get("protocol").asInt());
        assertEquals("node2", ours.get("node").asText());

        ch.writeInbound(hello("{\"protocol\":1,\"node\":\"node1\"}"));
        assertTrue(ch.isOpen());
        assertTrue(events.contains(new PeerEvents.Ready("node1", 1)), events.toString());
        assertNull(ch.pipeline().get(VersionCheck.class), "leaves the pipeline once done");
    }

    @Test
    void versionMismatchClosesWithAClearReason() {
        EmbeddedChannel ch = versionCheck("node1", new ArrayList<>());
        ((ByteBuf) ch.readOutbound()).release();
        ch.writeInbound(hello("{\"protocol\":2,\"node\":\"node1\"}"));
        assertFalse(ch.isOpen());
        assertTrue(cause(ch).contains("node1 speaks peer protocol 2 but node2 speaks 1"), cause(ch));
    }

    @Test
    void helloMustNameTheCertifiedNodeAndComeFirst() {
        EmbeddedChannel impostor = versionCheck("node1", new ArrayList<>());
        impostor.writeInbound(hello("{\"protocol\":1,\"node\":\"node3\"}"));
        assertFalse(impostor.isOpen());
        assertTrue(cause(impostor).contains("certificate says 'node1'"), cause(impostor));

        EmbeddedChannel early = versionCheck("node1", new ArrayList<>());
        early.writeInbound(Unpooled.buffer().writeByte(Wire.KIND_JSON).writeBytes("{}".getBytes(StandardCharsets.UTF_8)));
        assertFalse(early.isOpen());
        assertTrue(cause(early).contains("not a hello"), cause(early));

        EmbeddedChannel junk = versionCheck("node1", new ArrayList<>());
        junk.writeInbound(hello("{\"protocol\":\"one\"}"));
        assertFalse(junk.isOpen());
        assertTrue(cause(junk).contains("malformed hello"), cause(junk));
    }

    @Test
    void nothingPassesBeforeAuthentication() {
        EmbeddedChannel ch = new EmbeddedChannel(new VersionCheck("node2", 1), ConnectionGuard.INSTANCE);
        ch.writeInbound(hello("{\"protocol\":1,\"node\":\"node1\"}"));
        assertFalse(ch.isOpen());
        assertTrue(cause(ch).contains("before the peer was authenticated"), cause(ch));
    }

    // --- codec

    private static EmbeddedChannel codec() {
        return new EmbeddedChannel(new MessageCodec(), ConnectionGuardTail.capture());
    }

    @Test
    void messagesRoundTrip() {
        EmbeddedChannel out = codec();
        EmbeddedChannel in = codec();
        JsonNode body = Wire.JSON.valueToTree(Map.of("vip", "198.18.0.100"));
        List<PeerMessage> sent = List.of(new PeerMessage.Request(7, "prepare", body), new PeerMessage.Reply(7, body),
                new PeerMessage.ErrorReply(8, "no such service"));
        for (PeerMessage m : sent) {
            out.writeOutbound(m);
            in.writeInbound((Object) out.readOutbound());
            assertEquals(m, in.readInbound());
        }
        ByteBuf data = Unpooled.wrappedBuffer(new byte[] {9, 8, 7});
        out.writeOutbound(new PeerMessage.Chunk(3, 1, data));
        assertEquals(1, data.refCnt(), "only the encoded frame holds the data: no copy, no leak");
        in.writeInbound((Object) out.readOutbound());
        PeerMessage.Chunk c = in.readInbound();
        assertEquals(3, c.stream());
        assertEquals(1, c.file());
        assertEquals(3, c.data().readableBytes());
        assertEquals(7, c.data().getByte(2));
        c.release();
        assertEquals(0, data.refCnt());
        assertTrue(in.isOpen());
    }

    @Test
    void garbageClosesTheConnection() {
        assertGarbage(new byte[] {Wire.KIND_JSON, '{', 'x'}, "malformed JSON");
        assertGarbage(json("[1,2]"), "not a JSON object");
        assertGarbage(json("{\"id\":1}"), "without a \"type\"");
        assertGarbage(json("{\"type\":\"prepare\",\"id\":-1}"), "valid \"id\"");
        assertGarbage(json("{\"type\":\"prepare\",\"id\":1.5}"), "valid \"id\"");
        assertGarbage(json("{\"type\":\"Not A Type!\",\"id\":1}"), "unknown message type");
        assertGarbage(new byte[] {0x7f, 1, 2}, "unknown frame kind 0x7f");
        assertGarbage(new byte[] {Wire.KIND_CHUNK, 0, 0}, "truncated data chunk");
        assertGarbage(new byte[] {Wire.KIND_HELLO}, "second hello");
        assertGarbage(new byte[0], "empty frame");
    }

    private static byte[] json(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        byte[] f = new byte[b.length + 1];
        f[0] = Wire.KIND_JSON;
        System.arraycopy(b, 0, f, 1, b.length);
        return f;
    }

    private static void assertGarbage(byte[] frame, String expected) {
        EmbeddedChannel ch = new EmbeddedChannel(new MessageCodec(), ConnectionGuard.INSTANCE);
        ch.writeInbound(Unpooled.wrappedBuffer(frame));
        assertFalse(ch.isOpen(), expected);
        assertTrue(cause(ch).contains(expected), cause(ch) + " should contain " + expected);
        assertNull(ch.readInbound());
    }

    // --- dispatcher

    @Test
    void dispatcherRunsHandlersOnTheExecutorAndRepliesErrors() {
        List<Runnable> queued = new ArrayList<>();
        RequestDispatcher d = new RequestDispatcher(queued::add, new TransferReceiver(Runnable::run));
        d.register("echo", (peer, body) -> Map.of("from", peer, "body", body));
        d.register("fail", (peer, body) -> {
            throw new IllegalStateException("service web is not running");
        });
        EmbeddedChannel ch = new EmbeddedChannel(d, ConnectionGuard.INSTANCE);
        ch.attr(PeerEvents.PEER_NODE).set("node1");

        ch.writeInbound(new PeerMessage.Request(1, "echo", Wire.JSON.getNodeFactory().textNode("hi")));
        assertNull(ch.readOutbound(), "nothing runs on the event loop");
        assertEquals(1, queued.size());
        queued.remove(0).run();
        ch.runPendingTasks();
        PeerMessage.Reply reply = ch.readOutbound();
        assertEquals(1, reply.id());
        assertEquals("node1", reply.body().get("from").asText());
        assertEquals("hi", reply.body().get("body").asText());

        ch.writeInbound(new PeerMessage.Request(2, "fail", null));
        queued.remove(0).run();
        ch.runPendingTasks();
        PeerMessage.ErrorReply err = ch.readOutbound();
        assertEquals(new PeerMessage.ErrorReply(2, "service web is not running"), err);

        ch.writeInbound(new PeerMessage.Request(3, "nope", null));
        ch.runPendingTasks();
        PeerMessage.ErrorReply unknown = ch.readOutbound();
        assertTrue(unknown.message().contains("no handler for 'nope'"), unknown.message());
        assertTrue(ch.isOpen(), "an unknown request type is answered, not fatal");
    }

    @Test
    void reservedOrMalformedTypesCannotBeRegistered() {
        RequestDispatcher d = new RequestDispatcher(Runnable::run, new TransferReceiver(Runnable::run));
        for (String bad : List.of("reply", "error", "transfer.begin", "Prepare", "")) {
            assertInstanceOf(IllegalArgumentException.class, catching(() -> d.register(bad, (p, b) -> null)), bad);
        }
        d.register("prepare", (p, b) -> null);
        assertInstanceOf(IllegalStateException.class, catching(() -> d.register("prepare", (p, b) -> null)));
    }

    @Test
    void chunkForUnknownStreamIsAProtocolError() {
        RequestDispatcher d = new RequestDispatcher(Runnable::run, new TransferReceiver(Runnable::run));
        EmbeddedChannel ch = new EmbeddedChannel(d, ConnectionGuard.INSTANCE);
        ByteBuf data = Unpooled.wrappedBuffer(new byte[] {1});
        ch.writeInbound(new PeerMessage.Chunk(99, 0, data));
        assertFalse(ch.isOpen());
        assertEquals(0, data.refCnt());
        assertTrue(cause(ch).contains("unknown transfer stream 99"), cause(ch));
    }

    private static Throwable catching(Runnable r) {
        try {
            r.run();
            return null;
        } catch (RuntimeException e) {
            return e;
        }
    }

    private static String cause(EmbeddedChannel ch) {
        Throwable t = ch.attr(PeerEvents.CLOSE_CAUSE).get();
        assertNotNull(t, "a close cause was recorded");
        return t.getMessage();
    }

    /** A tail that passes frames through to the test (the guard would treat them as unexpected). */
    static final class ConnectionGuardTail extends ChannelInboundHandlerAdapter {
        static ConnectionGuardTail capture() {
            return new ConnectionGuardTail();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ConnectionGuard.INSTANCE.exceptionCaught(ctx, cause);
        }
    }
}
