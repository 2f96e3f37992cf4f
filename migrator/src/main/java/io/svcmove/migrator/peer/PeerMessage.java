package io.svcmove.migrator.peer;

import com.fasterxml.jackson.databind.JsonNode;
import io.netty.buffer.ByteBuf;
import io.netty.util.ReferenceCounted;

/** The typed messages of the peer protocol, as {@link MessageCodec} decodes them from frames. */
sealed interface PeerMessage {

    /** A call: {@code type} names the handler, {@code id} pairs it with its reply. */
    record Request(long id, String type, JsonNode body) implements PeerMessage {}

    record Reply(long id, JsonNode body) implements PeerMessage {}

    record ErrorReply(long id, String message) implements PeerMessage {}

    /**
     * Bulk data: bytes of file number {@code file} of transfer stream {@code stream}, in order.
     * Owns {@code data}: whoever consumes a chunk releases it.
     */
    record Chunk(int stream, int file, ByteBuf data) implements PeerMessage, ReferenceCounted {
        @Override
        public int refCnt() {
            return data.refCnt();
        }

        @Override
        public Chunk retain() {
            data.retain();
            return this;
        }

        @Override
        public Chunk retain(int increment) {
            data.retain(increment);
            return this;
        }

        @Override
        public Chunk touch() {
            data.touch();
            return this;
        }

        @Override
        public Chunk touch(Object hint) {
            data.touch(hint);
            return this;
        }

        @Override
        public boolean release() {
            return data.release();
        }

        @Override
        public boolean release(int decrement) {
            return data.release(decrement);
        }
    }
}
