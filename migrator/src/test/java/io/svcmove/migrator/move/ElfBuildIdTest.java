package io.svcmove.migrator.move;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Build-ids read from this machine's own executables and libraries, and from files that have none. */
class ElfBuildIdTest {
    private static final Path TRUE = Path.of("/bin/true");
    private static final Path FALSE = Path.of("/bin/false");

    @TempDir
    Path tmp;

    @Test
    void twoProgramsOfOneSizeHaveDifferentBuildIdsAndACopyTheSame() throws Exception {
        Assumptions.assumeTrue(Files.size(TRUE) == Files.size(FALSE), "coreutils' true and false are the same size on Debian");
        String t = ElfBuildId.of(TRUE).orElseThrow();
        String f = ElfBuildId.of(FALSE).orElseThrow();
        assertNotEquals(t, f, "what a size check cannot tell apart");
        Path copy = Files.copy(TRUE, tmp.resolve("true"));
        assertEquals(Optional.of(t), ElfBuildId.of(copy));
    }

    @Test
    void theBuildIdIsTheOneReadelfPrints() throws Exception {
        assertEquals(readelf(TRUE), ElfBuildId.of(TRUE).orElseThrow());
        Path libc = libc();
        assertEquals(readelf(libc), ElfBuildId.of(libc).orElseThrow(), "a shared library, as a service maps it: " + libc);
    }

    @Test
    void aFileThatIsNoElfOrIsNotThereHasNone() throws Exception {
        assertEquals(Optional.empty(), ElfBuildId.of(Files.writeString(tmp.resolve("data"), "\u007fELF but no more")));
        assertEquals(Optional.empty(), ElfBuildId.of(Files.write(tmp.resolve("empty"), new byte[0])));
        assertEquals(Optional.empty(), ElfBuildId.of(Path.of("/bin/sh-not-here")));
        assertEquals(Optional.empty(), ElfBuildId.of(tmp), "a directory");
    }

    @Test
    void aTruncatedElfHasNoneUntilItsNotesAreWhole() throws Exception {
        byte[] whole = Files.readAllBytes(TRUE);
        String id = ElfBuildId.of(TRUE).orElseThrow();
        int firstWith = -1;
        for (int cut = 0; cut <= 4096; cut++) {
            Path part = Files.write(tmp.resolve("part"), Arrays.copyOf(whole, cut));
            Optional<String> found = ElfBuildId.of(part);
            if (found.isPresent()) {
                assertEquals(id, found.get(), "cut at " + cut);
                firstWith = firstWith < 0 ? cut : firstWith;
            } else {
                assertTrue(firstWith < 0, "once the notes are whole the id is found: lost again at " + cut);
            }
        }
        assertTrue(firstWith > 64, "found only once the program headers and the note are there: " + firstWith);
    }

    @Test
    void aCorruptHeaderIsNoBuildId() throws Exception {
        byte[] bad = Files.readAllBytes(TRUE);
        ByteBuffer b = ByteBuffer.wrap(bad).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(0x20, Long.MAX_VALUE - 8); // program headers far past the end
        b.putLong(0x28, -1); // section headers at a negative offset
        assertEquals(Optional.empty(), ElfBuildId.of(Files.write(tmp.resolve("bad"), bad)));
    }

    @Test
    void notesAlignedToEightAreWalkedAsTheirAreaSays() {
        // .note.gnu.property (8-aligned: its descriptor of 12 bytes padded to 16), then a build-id.
        ByteBuffer area = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
        area.putInt(4).putInt(12).putInt(5).put("GNU\0".getBytes(StandardCharsets.US_ASCII)).put(new byte[16]);
        area.putInt(4).putInt(4).putInt(3).put("GNU\0".getBytes(StandardCharsets.US_ASCII)).put(new byte[] {1, 2, 3, (byte) 0xff});
        assertEquals(Optional.of("010203ff"), ElfBuildId.buildId(area.flip(), 8));
        assertEquals(Optional.empty(), ElfBuildId.buildId(area.rewind(), 4), "read 4-aligned, the second note is misplaced");
    }

    @Test
    void aNoteOfAnotherOwnerIsNoBuildId() {
        ByteBuffer area = ByteBuffer.allocate(20).order(ByteOrder.LITTLE_ENDIAN);
        area.putInt(4).putInt(4).putInt(3).put("Go\0\0".getBytes(StandardCharsets.US_ASCII)).putInt(7);
        assertEquals(Optional.empty(), ElfBuildId.buildId(area.flip(), 4));
    }

    private static Path libc() throws Exception {
        return Files.readAllLines(Path.of("/proc/self/maps")).stream().map(l -> l.substring(l.indexOf('/') < 0 ? l.length() : l.indexOf('/')))
                .filter(p -> p.matches(".*/libc[.-].*so.*")).map(Path::of).findFirst().orElseThrow();
    }

    private static String readelf(Path file) throws Exception {
        Process p;
        try {
            p = new ProcessBuilder("readelf", "-n", file.toString()).redirectErrorStream(true).start();
        } catch (java.io.IOException e) {
            Assumptions.abort("readelf (binutils) is not installed");
            throw e;
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(10, TimeUnit.SECONDS));
        Matcher m = Pattern.compile("Build ID: ([0-9a-f]+)").matcher(out);
        assertTrue(m.find(), out);
        return m.group(1);
    }
}
