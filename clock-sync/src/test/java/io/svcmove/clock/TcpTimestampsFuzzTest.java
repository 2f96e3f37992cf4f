package io.svcmove.clock;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;

/**
 * The TSval edit of CRIU tcp-stream images, on any bytes. Checked against a protobuf wire walker
 * written here: a malformed entry is refused (IOException naming the image), never rewritten;
 * otherwise every field but the timestamp is kept, the timestamp is the one CRIU reads (the last
 * occurrence) advanced, the queues after the entry are unchanged, and an image without a
 * timestamp comes back as it was.
 */
class TcpTimestampsFuzzTest {
    private static final String NAME = "tcp-stream-fuzz.img";

    @FuzzTest(maxDuration = "10s")
    void advance(FuzzedDataProvider data) {
        long millis = data.consumeLong(0, 7L * 24 * 3600 * 1000);
        byte[] image;
        if (data.consumeBoolean()) {
            image = data.consumeRemainingAsBytes();
        } else {
            // Mostly a well-framed image, so that the fuzzer spends its time in the entry.
            byte[] entry = data.consumeBytes(data.consumeInt(0, 256));
            byte[] queues = data.consumeRemainingAsBytes();
            image = ByteBuffer.allocate(12 + entry.length + queues.length).order(ByteOrder.LITTLE_ENDIAN)
                    .putInt(TcpTimestamps.COMMON_MAGIC).putInt(TcpTimestamps.TCP_STREAM_MAGIC).putInt(entry.length)
                    .put(entry).put(queues).array();
        }
        byte[] original = image.clone();
        List<Field> expected = expectedFields(image);
        byte[] out;
        try {
            out = TcpTimestamps.advanced(image, millis, NAME);
        } catch (IOException e) {
            assertTrue(e.getMessage() != null && e.getMessage().contains(NAME), "refusal does not name the image: " + e);
            return;
        }
        assertArrayEquals(original, image, "the input was modified");
        if (expected == null) {
            fail("a malformed image was accepted: " + HexFormat.of().formatHex(original));
        }
        int length = ByteBuffer.wrap(original).order(ByteOrder.LITTLE_ENDIAN).getInt(8);
        Long last = null;
        for (Field f : expected) {
            if (f.number == TcpTimestamps.TIMESTAMP_FIELD && f.type == 0) {
                last = (Long) f.value;
            }
        }
        if (last == null) {
            assertArrayEquals(original, out, "an image without a timestamp must come back unchanged");
            return;
        }
        ByteBuffer o = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(TcpTimestamps.COMMON_MAGIC, o.getInt(0));
        assertEquals(TcpTimestamps.TCP_STREAM_MAGIC, o.getInt(4));
        int outLength = o.getInt(8);
        assertTrue(outLength >= 0 && 12 + outLength <= out.length, "the new entry length is wrong");
        List<Field> got = fields(out, 12, outLength);
        assertTrue(got != null, "the rewritten entry is malformed");
        List<Field> wantOthers = without9(expected);
        List<Field> gotOthers = without9(got);
        assertEquals(wantOthers.size(), gotOthers.size(), "fields other than the timestamp changed: " + wantOthers + " -> " + gotOthers);
        for (int i = 0; i < wantOthers.size(); i++) {
            Field w = wantOthers.get(i);
            Field g = gotOthers.get(i);
            assertTrue(w.number == g.number && w.type == g.type && (w.value.equals(OVERFLOW) || w.value.equals(g.value)),
                    "fields other than the timestamp changed: " + wantOthers + " -> " + gotOthers);
        }
        List<Field> stamps = got.stream().filter(f -> f.number == TcpTimestamps.TIMESTAMP_FIELD).toList();
        assertEquals(1, stamps.size(), "exactly one timestamp after the edit: " + stamps);
        assertEquals(0, stamps.get(0).type);
        if (!last.equals(OVERFLOW)) {
            assertEquals(TcpTimestamps.next(last, millis), ((Number) stamps.get(0).value).longValue());
        }
        assertArrayEquals(Arrays.copyOfRange(original, 12 + length, original.length),
                Arrays.copyOfRange(out, 12 + outLength, out.length), "the queues after the entry changed");
    }

    /** The fields of the image's entry, or null when the image or its entry is malformed. */
    private static List<Field> expectedFields(byte[] image) {
        if (image.length < 12) {
            return null;
        }
        ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        int length = b.getInt(8);
        if (b.getInt(0) != TcpTimestamps.COMMON_MAGIC || b.getInt(4) != TcpTimestamps.TCP_STREAM_MAGIC
                || length < 0 || length > image.length - 12) {
            return null;
        }
        return fields(image, 12, length);
    }

    private static List<Field> without9(List<Field> fs) {
        List<Field> out = new ArrayList<>(fs.stream().filter(f -> f.number != TcpTimestamps.TIMESTAMP_FIELD).toList());
        // Re-encoding groups a number's values by wire type; the order within one number and type stays.
        out.sort(Comparator.comparingInt((Field f) -> f.number).thenComparingInt(f -> f.type));
        return out;
    }

    record Field(int number, int type, Object value) {}

    /** A protobuf message's top-level fields, as CRIU's protobuf-c reads them (no groups); null when malformed. */
    static List<Field> fields(byte[] b, int off, int len) {
        int[] pos = {off};
        int end = off + len;
        List<Field> out = new ArrayList<>();
        while (pos[0] < end) {
            Long tag64 = varint(b, pos, end);
            // protobuf-java, like the edit, keeps an overlong tag's low 32 bits (protobuf-c refuses it): tolerated.
            int tag = tag64 == null ? 0 : (int) (long) tag64;
            if (tag >>> 3 == 0) {
                return null;
            }
            int number = tag >>> 3;
            int type = tag & 7;
            switch (type) {
                case 0 -> {
                    Long v = varint(b, pos, end);
                    if (v == null) {
                        return null;
                    }
                    out.add(new Field(number, type, overflow ? OVERFLOW : v));
                }
                case 1, 5 -> {
                    int n = type == 1 ? 8 : 4;
                    if (end - pos[0] < n) {
                        return null;
                    }
                    out.add(new Field(number, type, HexFormat.of().formatHex(b, pos[0], pos[0] + n)));
                    pos[0] += n;
                }
                case 2 -> {
                    Long l = varint(b, pos, end);
                    if (l == null) {
                        return null;
                    }
                    int n = (int) (long) l;
                    if (n < 0 || n > end - pos[0]) {
                        return null;
                    }
                    out.add(new Field(number, type, HexFormat.of().formatHex(b, pos[0], pos[0] + n)));
                    pos[0] += n;
                }
                default -> {
                    return null;
                }
            }
        }
        return out;
    }

    /** A 10-byte varint not ending in 0x01 (overlong or overflowing): its value is the reader's choice. */
    private static final Long OVERFLOW = Long.valueOf(Long.MIN_VALUE + 12345);

    private static boolean overflow;

    private static Long varint(byte[] b, int[] pos, int end) {
        long v = 0;
        for (int i = 0; i < 10; i++) {
            if (pos[0] >= end) {
                return null;
            }
            int x = b[pos[0]++] & 0xff;
            v |= (long) (x & 0x7f) << (7 * i);
            if ((x & 0x80) == 0) {
                overflow = i == 9 && x != 1; // protobuf-java reads a 10-byte varint not ending in 1 its own way
                return v;
            }
        }
        return null;
    }
}
