package io.svcmove.clock;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.UnknownFieldSet;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * TCP timestamp continuity across a move. CRIU reads each connection's TSval clock
 * (TCP_TIMESTAMP) at the dump and sets it back at the restore, in its tcp-stream images. Resumed
 * at exactly that reading, a connection can send a TSval lower than one the client already saw:
 * the kernel stamps segments with their planned departure time, which pacing puts ahead of the
 * clock, and since Linux 6.7 the reading's low bit is a flag (microsecond stamps), not a tick.
 * The client's PAWS check drops such a segment. Advancing the saved value by the time the
 * connection spent stopped keeps TSval going as if the connection had never stopped.
 */
public final class TcpTimestamps {
    /** CRIU's image header: the common magic, then the tcp-stream magic; then u32 length + protobuf entry, then raw queues. */
    static final int COMMON_MAGIC = 0x54564319;
    static final int TCP_STREAM_MAGIC = 0x51465506;
    /** tcp_stream_entry.timestamp in CRIU's tcp-stream.proto. */
    static final int TIMESTAMP_FIELD = 9;
    private static final int HEADER = 12;

    private TcpTimestamps() {}

    /** Advances the TSval clock of every connection in {@code imagesDir}; returns how many there were. */
    public static int advance(Path imagesDir, Duration by) throws IOException {
        int n = 0;
        try (DirectoryStream<Path> images = Files.newDirectoryStream(imagesDir, "tcp-stream-*.img")) {
            for (Path image : images) {
                Files.write(image, advanced(Files.readAllBytes(image), by.toMillis(), image));
                n++;
            }
        }
        return n;
    }

    /** The image with its timestamp advanced by {@code millis}; unchanged if the connection has no timestamps. */
    static byte[] advanced(byte[] image, long millis, Object name) throws IOException {
        ByteBuffer in = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        if (image.length < HEADER || in.getInt(0) != COMMON_MAGIC || in.getInt(4) != TCP_STREAM_MAGIC) {
            throw new IOException(name + " is not a CRIU tcp-stream image (magic differs)");
        }
        int length = in.getInt(8);
        if (length < 0 || HEADER + length > image.length) {
            throw new IOException(name + " is cut short: its entry says " + length + " bytes");
        }
        UnknownFieldSet entry = entry(image, length, name);
        if (!entry.hasField(TIMESTAMP_FIELD) || entry.getField(TIMESTAMP_FIELD).getVarintList().isEmpty()) {
            return image;
        }
        // A field given twice is read by CRIU (protobuf-c) as its last value.
        List<Long> stamps = entry.getField(TIMESTAMP_FIELD).getVarintList();
        long saved = stamps.get(stamps.size() - 1);
        byte[] body = entry.toBuilder().clearField(TIMESTAMP_FIELD)
                .addField(TIMESTAMP_FIELD, UnknownFieldSet.Field.newBuilder().addVarint(next(saved, millis)).build())
                .build().toByteArray();
        ByteArrayOutputStream out = new ByteArrayOutputStream(image.length + 8);
        out.write(ByteBuffer.allocate(HEADER).order(ByteOrder.LITTLE_ENDIAN).putInt(COMMON_MAGIC).putInt(TCP_STREAM_MAGIC)
                .putInt(body.length).array());
        out.write(body);
        out.write(image, HEADER + length, image.length - HEADER - length);
        return out.toByteArray();
    }

    /**
     * The image's entry, all of it: a malformed one (found by fuzzing: a bad tag, a stray end-group
     * tag that silently cut the entry short, groups, which CRIU's protobuf-c refuses) is an
     * IOException naming the image, never rewritten into something else.
     */
    private static UnknownFieldSet entry(byte[] image, int length, Object name) throws IOException {
        try {
            CodedInputStream in = CodedInputStream.newInstance(image, HEADER, length);
            UnknownFieldSet entry = UnknownFieldSet.parseFrom(in);
            // Parsing stops at an end-group tag as at the end: only the end is the end.
            in.checkLastTagWas(0);
            for (UnknownFieldSet.Field f : entry.asMap().values()) {
                if (!f.getGroupList().isEmpty()) {
                    throw new IOException("a group field");
                }
            }
            return entry;
        } catch (IOException e) {
            throw new IOException(name + " has a malformed entry (" + e.getMessage() + ")", e);
        }
    }

    /**
     * The saved TSval clock plus {@code millis}, modulo 2^32. Its low bit says the connection stamps
     * in microseconds (the kernel reads it back on restore), so the ticks scale with it and the bit stays.
     */
    static long next(long saved, long millis) {
        long usec = saved & 1;
        long ticks = usec == 1 ? millis * 1000 : millis;
        return ((saved + ticks) & 0xFFFF_FFFEL) | usec;
    }
}
