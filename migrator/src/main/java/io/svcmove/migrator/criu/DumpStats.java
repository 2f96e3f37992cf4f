package io.svcmove.migrator.criu;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What CRIU counted in a dump or pre-dump, from the {@code stats-dump} image it leaves in its work
 * directory: the pages it wrote, and those it skipped because the parent images (the previous
 * pre-dump) hold them unchanged. The image is CRIU's service-image layout: its service magic, the
 * stats magic, then one entry (a 32-bit size and the protobuf), all in the host's byte order.
 */
public record DumpStats(long pagesScanned, long pagesSkippedParent, long pagesWritten) {
    /** The file CRIU writes into its work directory at the end of every dump and pre-dump. */
    public static final String FILE = "stats-dump";
    /** No stats (a fake, or a CRIU that did not write them). */
    public static final DumpStats NONE = new DumpStats(0, 0, 0);
    private static final int SERVICE_MAGIC = 0x55105940;
    private static final int STATS_MAGIC = 0x57093306;

    /** The stats in {@code workDir}; throws naming the file when it is missing or not CRIU's stats. */
    public static DumpStats read(Path workDir) throws IOException {
        Path file = workDir.resolve(FILE);
        return parse(Files.readAllBytes(file), file);
    }

    static DumpStats parse(byte[] image, Path file) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.nativeOrder());
        if (image.length < 12 || b.getInt() != SERVICE_MAGIC || b.getInt() != STATS_MAGIC) {
            throw new IOException(file + " is not a CRIU stats image (its magic does not match)");
        }
        int size = b.getInt();
        if (size < 0 || size > b.remaining()) {
            throw new IOException(file + " is cut short: its entry has " + size + " bytes, the file " + b.remaining() + " more");
        }
        CriuStats.DumpStats d = CriuStats.Stats.parseFrom(ByteBuffer.wrap(image, 12, size)).getDump();
        return new DumpStats(d.getPagesScanned(), d.getPagesSkippedParent(), d.getPagesWritten());
    }
}
