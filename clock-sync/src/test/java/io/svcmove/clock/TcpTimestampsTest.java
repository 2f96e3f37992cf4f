package io.svcmove.clock;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.UnknownFieldSet;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TcpTimestampsTest {
    private static final byte[] QUEUES = "received bytes|unacknowledged bytes".getBytes(StandardCharsets.US_ASCII);

    /** A tcp-stream image as CRIU writes it: header, entry (inq_len, inq_seq, opt_mask, timestamp if any), queues. */
    private static byte[] image(Long timestamp) {
        UnknownFieldSet.Builder e = UnknownFieldSet.newBuilder()
                .addField(1, varint(14)).addField(2, varint(0xdeadbeefL)).addField(5, varint(0x7));
        if (timestamp != null) {
            e.addField(TcpTimestamps.TIMESTAMP_FIELD, varint(timestamp));
        }
        byte[] body = e.build().toByteArray();
        return ByteBuffer.allocate(12 + body.length + QUEUES.length).order(ByteOrder.LITTLE_ENDIAN)
                .putInt(TcpTimestamps.COMMON_MAGIC).putInt(TcpTimestamps.TCP_STREAM_MAGIC).putInt(body.length)
                .put(body).put(QUEUES).array();
    }

    private static UnknownFieldSet.Field varint(long v) {
        return UnknownFieldSet.Field.newBuilder().addVarint(v).build();
    }

    private static UnknownFieldSet entry(byte[] image) throws IOException {
        int length = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN).getInt(8);
        return UnknownFieldSet.parseFrom(CodedInputStream.newInstance(image, 12, length));
    }

    @Test
    void millisecondStampsAdvanceByTheMillisAndKeepEverythingElse() throws IOException {
        byte[] out = TcpTimestamps.advanced(image(1_516_280_956L), 131, "t");
        UnknownFieldSet e = entry(out);
        assertEquals(1_516_281_086L, e.getField(TcpTimestamps.TIMESTAMP_FIELD).getVarintList().get(0),
                "advanced by 131 ticks, low bit kept clear (131 is odd: the bit would switch the socket to microseconds)");
        assertEquals(14L, e.getField(1).getVarintList().get(0));
        assertEquals(0xdeadbeefL, e.getField(2).getVarintList().get(0));
        assertEquals(0x7L, e.getField(5).getVarintList().get(0));
        assertArrayEquals(QUEUES, Arrays.copyOfRange(out, out.length - QUEUES.length, out.length), "the queues follow the entry unchanged");
    }

    @Test
    void microsecondStampsAdvanceByMicrosAndKeepTheirFlag() {
        assertEquals(2_000_250_001L, TcpTimestamps.next(2_000_000_001L, 250));
    }

    @Test
    void theClockWrapsAt32Bits() {
        assertEquals(98L, TcpTimestamps.next(0xFFFF_FFF0L, 115));
    }

    @Test
    void connectionsWithoutTimestampsAreLeftAlone() throws IOException {
        byte[] in = image(null);
        assertArrayEquals(in, TcpTimestamps.advanced(in, 500, "t"));
    }

    @Test
    void aFileThatIsNotATcpStreamImageIsRefusedByName() {
        byte[] wrong = image(5L);
        wrong[4] ^= 1;
        IOException e = assertThrows(IOException.class, () -> TcpTimestamps.advanced(wrong, 1, "tcp-stream-7.img"));
        assertTrue(e.getMessage().contains("tcp-stream-7.img"), e.getMessage());
        byte[] cut = Arrays.copyOf(image(5L), 14);
        assertThrows(IOException.class, () -> TcpTimestamps.advanced(cut, 1, "cut"));
    }

    @Test
    void everyConnectionInTheDirectoryAndNothingElse(@TempDir Path dir) throws IOException {
        Files.write(dir.resolve("tcp-stream-11.img"), image(1000L));
        Files.write(dir.resolve("tcp-stream-12.img"), image(2000L));
        Files.write(dir.resolve("pages-1.img"), QUEUES);
        assertEquals(2, TcpTimestamps.advance(dir, Duration.ofMillis(40)));
        assertEquals(1040L, entry(Files.readAllBytes(dir.resolve("tcp-stream-11.img"))).getField(9).getVarintList().get(0));
        assertEquals(2040L, entry(Files.readAllBytes(dir.resolve("tcp-stream-12.img"))).getField(9).getVarintList().get(0));
        assertArrayEquals(QUEUES, Files.readAllBytes(dir.resolve("pages-1.img")));
    }
}
