package io.svcmove.migrator.move;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HexFormat;
import java.util.Optional;

/**
 * The GNU build-id of an ELF file (its NT_GNU_BUILD_ID note, owner "GNU"), which CRIU compares at
 * restore for every executable and library a process maps: two builds of one program of the same
 * size differ there. Read from the notes the program headers point at (PT_NOTE), else from the
 * note sections (an object without program headers). Only ELF64 little-endian files, the
 * services' own on the x86-64 nodes svcmove runs on, are read; any other file (a 32-bit library
 * too: only its size is compared), and a truncated or malformed ELF, has none.
 */
final class ElfBuildId {
    private static final int PT_NOTE = 4;
    private static final int SHT_NOTE = 7;
    private static final int NT_GNU_BUILD_ID = 3;
    private static final int EHDR_SIZE = 64;
    /** A build-id note is a few dozen bytes; a note area past this is not read (a corrupt header's size). */
    private static final long MAX_NOTES = 1 << 16;
    /** Headers past this many are not read: a corrupt count, not a real file's. */
    private static final int MAX_HEADERS = 1 << 12;

    private ElfBuildId() {}

    /** The build-id in lowercase hex (as {@code readelf -n} and {@code file} print it), or empty. */
    static Optional<String> of(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return of(ch);
        } catch (IOException | SecurityException e) {
            return Optional.empty();
        }
    }

    private static Optional<String> of(FileChannel ch) throws IOException {
        ByteBuffer eh = read(ch, 0, EHDR_SIZE);
        // ELF magic, ELFCLASS64, ELFDATA2LSB
        if (eh == null || eh.getInt(0) != 0x464c457f || eh.get(4) != 2 || eh.get(5) != 1) {
            return Optional.empty();
        }
        Optional<String> id = PROGRAM.notes(ch, eh);
        return id.isPresent() ? id : SECTIONS.notes(ch, eh);
    }

    /**
     * A table of headers (program or section headers) and where, in the ELF header and in each
     * entry, the fields that lead to its notes are.
     */
    private record Table(int offsetAt, int entrySizeAt, int countAt, int minEntrySize, int noteType, int typeAt,
            int areaOffsetAt, int areaSizeAt, int alignAt) {
        /** The build-id among the notes of every entry of this table whose type is a note's. */
        Optional<String> notes(FileChannel ch, ByteBuffer eh) throws IOException {
            long table = eh.getLong(offsetAt);
            int entrySize = Short.toUnsignedInt(eh.getShort(entrySizeAt));
            int count = Short.toUnsignedInt(eh.getShort(countAt));
            if (table <= 0 || entrySize < minEntrySize || count > MAX_HEADERS) {
                return Optional.empty();
            }
            for (int i = 0; i < count; i++) {
                ByteBuffer h = read(ch, table + (long) i * entrySize, minEntrySize);
                if (h == null) {
                    return Optional.empty();
                }
                long size = h.getLong(areaSizeAt);
                if (h.getInt(typeAt) == noteType && size > 0 && size <= MAX_NOTES) {
                    ByteBuffer area = read(ch, h.getLong(areaOffsetAt), (int) size);
                    Optional<String> id = area == null ? Optional.empty() : buildId(area, h.getLong(alignAt) == 8 ? 8 : 4);
                    if (id.isPresent()) {
                        return id;
                    }
                }
            }
            return Optional.empty();
        }
    }

    private static final Table PROGRAM = new Table(0x20, 0x36, 0x38, 56, PT_NOTE, 0, 0x08, 0x20, 0x30);
    private static final Table SECTIONS = new Table(0x28, 0x3a, 0x3c, 64, SHT_NOTE, 4, 0x18, 0x20, 0x30);

    /**
     * The GNU build-id among the notes of one area: each a header (namesz, descsz, type), then its
     * name, then its descriptor, each starting at a multiple of {@code align} (4, or 8 in an area
     * aligned so, such as .note.gnu.property's).
     */
    static Optional<String> buildId(ByteBuffer area, int align) {
        int at = 0;
        while (area.limit() - at >= 12) {
            long nameSize = Integer.toUnsignedLong(area.getInt(at));
            long descSize = Integer.toUnsignedLong(area.getInt(at + 4));
            int type = area.getInt(at + 8);
            long desc = pad(at + 12 + nameSize, align);
            long next = pad(desc + descSize, align);
            if (desc + descSize > area.limit()) {
                return Optional.empty();
            }
            if (type == NT_GNU_BUILD_ID && nameSize == 4 && descSize > 0 && isGnu(area, at + 12)) {
                byte[] id = new byte[(int) descSize];
                area.get((int) desc, id);
                return Optional.of(HexFormat.of().formatHex(id));
            }
            if (next > area.limit()) {
                return Optional.empty();
            }
            at = (int) next;
        }
        return Optional.empty();
    }

    private static boolean isGnu(ByteBuffer area, int at) {
        return area.get(at) == 'G' && area.get(at + 1) == 'N' && area.get(at + 2) == 'U' && area.get(at + 3) == 0;
    }

    private static long pad(long n, int align) {
        return (n + align - 1) & -align;
    }

    /** {@code length} bytes at {@code offset}, little-endian; null when the file ends before them. */
    private static ByteBuffer read(FileChannel ch, long offset, int length) throws IOException {
        if (offset < 0 || offset > ch.size() - length) {
            return null;
        }
        ByteBuffer b = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) {
            if (ch.read(b, offset + b.position()) < 0) {
                return null;
            }
        }
        return b.flip();
    }
}
