package io.svcmove.migrator.criu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** CRIU's stats-dump image, laid out as CRIU 4.2.1 writes it (criu/stats.c, criu/image.c: service magic, stats magic, one entry). */
class DumpStatsTest {
    @TempDir Path work;

    /** The image CRIU writes: both magics, the entry's size, then the entry (with the fields svcmove does not read too). */
    private static byte[] image(byte[] entry, int serviceMagic) {
        return ByteBuffer.allocate(12 + entry.length).order(ByteOrder.nativeOrder()).putInt(serviceMagic).putInt(0x57093306)
                .putInt(entry.length).put(entry).array();
    }

    private static byte[] entry(long scanned, long skipped, long written) {
        // Field 1 (dump) holding CRIU's required fields: times 1-4, then the page counts 5-7 and pages_lazy (9).
        CriuStats.DumpStats counts = CriuStats.DumpStats.newBuilder().setPagesScanned(scanned).setPagesSkippedParent(skipped)
                .setPagesWritten(written).build();
        byte[] times = {0x08, 0x11, 0x10, 0x22, 0x18, 0x33, 0x20, 0x44, 0x48, 0x00};
        byte[] dump = ByteBuffer.allocate(times.length + counts.getSerializedSize()).put(times).put(counts.toByteArray()).array();
        return ByteBuffer.allocate(2 + dump.length).put((byte) 0x0a).put((byte) dump.length).put(dump).array();
    }

    @Test
    void readsThePagesWrittenAndSkippedBecauseTheParentHasThem() throws IOException {
        Files.write(work.resolve("stats-dump"), image(entry(65_536, 65_100, 436), 0x55105940));
        assertEquals(new DumpStats(65_536, 65_100, 436), DumpStats.read(work));
    }

    @Test
    void refusesWhatIsNotCriusStats() throws IOException {
        Files.write(work.resolve("stats-dump"), image(entry(1, 0, 1), 0x54564319));
        IOException e = assertThrows(IOException.class, () -> DumpStats.read(work));
        assertTrue(e.getMessage().endsWith("stats-dump is not a CRIU stats image (its magic does not match)"), e.getMessage());
        byte[] cut = image(entry(1, 0, 1), 0x55105940);
        Files.write(work.resolve("stats-dump"), java.util.Arrays.copyOf(cut, cut.length - 3));
        assertTrue(assertThrows(IOException.class, () -> DumpStats.read(work)).getMessage().contains("is cut short"));
        assertThrows(IOException.class, () -> DumpStats.read(work.resolve("missing")));
    }
}
