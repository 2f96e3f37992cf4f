package io.svcmove.migrator.peer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufInputStream;
import io.netty.buffer.ByteBufOutputStream;
import io.netty.buffer.CompositeByteBuf;
import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToMessageCodec;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.List;

/** Frames to {@link PeerMessage}s and back. Anything malformed is a {@link PeerProtocolException}. */
@Sharable
final class MessageCodec extends MessageToMessageCodec<ByteBuf, PeerMessage> {

    @Override
    protected void encode(ChannelHandlerContext ctx, PeerMessage msg, List<Object> out) throws IOException {
        if (msg instanceof PeerMessage.Chunk c) {
            ByteBuf header = ctx.alloc().ioBuffer(Wire.CHUNK_HEADER);
            header.writeByte(Wire.KIND_CHUNK).writeInt(c.stream()).writeInt(c.file());
            // A composite avoids copying the data; the encoder releases the chunk itself, hence retain.
            CompositeByteBuf frame = ctx.alloc().compositeBuffer(2);
            frame.addComponents(true, header, c.data().retain());
            out.add(frame);
            return;
        }
        ObjectNode envelope = Wire.JSON.createObjectNode();
        if (msg instanceof PeerMessage.Request r) {
            envelope.put("type", r.type()).put("id", r.id()).set("body", orNull(r.body()));
        } else if (msg instanceof PeerMessage.Reply r) {
            envelope.put("type", Wire.TYPE_REPLY).put("id", r.id()).set("body", orNull(r.body()));
        } else if (msg instanceof PeerMessage.ErrorReply r) {
            envelope.put("type", Wire.TYPE_ERROR).put("id", r.id())
                    .set("body", Wire.JSON.createObjectNode().put("message", r.message()));
        }
        ByteBuf buf = ctx.alloc().ioBuffer();
        buf.writeByte(Wire.KIND_JSON);
        try (OutputStream os = new ByteBufOutputStream(buf)) {
            Wire.JSON.writeValue(os, envelope);
        } catch (IOException | RuntimeException e) {
            buf.release();
            throw e;
        }
        if (buf.readableBytes() > Wire.MAX_FRAME) {
            int size = buf.readableBytes();
            buf.release();
            throw new PeerProtocolException("message of " + size + " bytes exceeds the " + (Wire.MAX_FRAME >> 20)
                    + " MiB frame limit: send bulk data with sendFiles");
        }
        out.add(buf);
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf frame, List<Object> out) throws PeerProtocolException {
        if (!frame.isReadable()) {
            throw new PeerProtocolException("empty frame");
        }
        byte kind = frame.readByte();
        switch (kind) {
            case Wire.KIND_JSON -> out.add(decodeJson(frame));
            case Wire.KIND_CHUNK -> {
                if (frame.readableBytes() < Wire.CHUNK_HEADER - 1) {
                    throw new PeerProtocolException("truncated data chunk header");
                }
                int stream = frame.readInt();
                int file = frame.readInt();
                out.add(new PeerMessage.Chunk(stream, file, frame.readRetainedSlice(frame.readableBytes())));
            }
            case Wire.KIND_HELLO -> throw new PeerProtocolException("second hello after the version check");
            default -> throw new PeerProtocolException(String.format("unknown frame kind 0x%02x", kind & 0xff));
        }
    }

    private static PeerMessage decodeJson(ByteBuf frame) throws PeerProtocolException {
        JsonNode env;
        try (InputStream in = new ByteBufInputStream(frame)) {
            env = Wire.JSON.readTree(in);
        } catch (JsonProcessingException e) {
            throw new PeerProtocolException("malformed JSON message: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new PeerProtocolException("unreadable JSON message: " + e.getMessage());
        }
        if (env == null || !env.isObject()) {
            throw new PeerProtocolException("message is not a JSON object");
        }
        JsonNode type = env.get("type");
        JsonNode id = env.get("id");
        if (type == null || !type.isTextual()) {
            throw new PeerProtocolException("message without a \"type\" string");
        }
        if (id == null || !id.canConvertToExactIntegral() || !id.canConvertToLong() || id.asLong() < 0) {
            throw new PeerProtocolException("message '" + type.asText() + "' without a valid \"id\"");
        }
        JsonNode body = orNull(env.get("body"));
        String t = type.asText();
        return switch (t) {
            case Wire.TYPE_REPLY -> new PeerMessage.Reply(id.asLong(), body);
            case Wire.TYPE_ERROR -> new PeerMessage.ErrorReply(id.asLong(), body.path("message").asText("(no message)"));
            default -> {
                if (!Wire.TYPE_NAME.matcher(t).matches()) {
                    throw new PeerProtocolException("unknown message type '" + abbreviate(t) + "'");
                }
                yield new PeerMessage.Request(id.asLong(), t, body);
            }
        };
    }

    private static JsonNode orNull(JsonNode n) {
        return n == null ? NullNode.getInstance() : n;
    }

    private static String abbreviate(String s) {
        return s.length() <= 40 ? s : s.substring(0, 40) + "…";
    }
}
