package io.svcmove.migrator.peer;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.util.regex.Pattern;

/**
 * The peer protocol on the wire, after TLS: frames of a 4-byte big-endian length then that many
 * bytes; the first byte of a frame is its kind. The hello frame's layout never changes between
 * protocol versions, so any two versions can at least tell each other apart.
 */
final class Wire {
    /** Peer protocol spoken by this build; agents of different protocols refuse each other. */
    static final int PROTOCOL = 1;
    /** Bounds memory per connection; chunks are far smaller, so only garbage reaches it. */
    static final int MAX_FRAME = 16 * 1024 * 1024;

    /** {@code {"protocol": N, "node": NAME}}: the first frame each way. */
    static final byte KIND_HELLO = 0;
    /** JSON envelope {@code {"type", "id", "body"}}. */
    static final byte KIND_JSON = 1;
    /** Bulk data: int stream, int file index, then bytes. */
    static final byte KIND_CHUNK = 2;
    static final int CHUNK_HEADER = 1 + 4 + 4;

    static final String TYPE_REPLY = "reply";
    static final String TYPE_ERROR = "error";
    /** Request types the channel itself handles; handlers cannot take these names. */
    static final String TRANSFER_PREFIX = "transfer.";
    static final String TRANSFER_BEGIN = "transfer.begin";
    static final String TRANSFER_END = "transfer.end";
    static final Pattern TYPE_NAME = Pattern.compile("[a-z][a-z0-9_.-]{0,63}");

    static final ObjectMapper JSON = JsonMapper.builder()
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .build();

    private Wire() {}
}
