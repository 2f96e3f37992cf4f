package io.svcmove.migrator.move;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PrecopyImagesTest {
    @TempDir
    Path dir;

    @Test
    void aSentRoundKeepsItsPagemapsAndThePagesFilesSizesButNotTheirContents() throws Exception {
        byte[] pages = new byte[3 * 4096];
        java.util.Arrays.fill(pages, (byte) 0x5a);
        byte[] pagemap = {1, 2, 3, 4};
        Files.write(dir.resolve("pages-1.img"), pages);
        Files.write(dir.resolve("pagemap-1.img"), pagemap);
        Files.write(dir.resolve("core-1.img"), pagemap);

        PrecopyImages.releasePages(dir);

        assertEquals(pages.length, Files.size(dir.resolve("pages-1.img")));
        assertArrayEquals(new byte[pages.length], Files.readAllBytes(dir.resolve("pages-1.img")));
        assertArrayEquals(pagemap, Files.readAllBytes(dir.resolve("pagemap-1.img")));
        assertArrayEquals(pagemap, Files.readAllBytes(dir.resolve("core-1.img")));
    }

    @Test
    void roundsAndTheirTransfersAreNamedAlikeOnBothNodes() {
        assertEquals("web-1a2b.pre-3", PrecopyImages.transferId("web-1a2b", 3));
        assertEquals(3, PrecopyImages.round("web-1a2b.pre-3").getAsInt());
        assertEquals("web-1a2b", PrecopyImages.moveId("web-1a2b.pre-3"));
        assertEquals("web-1a2b", PrecopyImages.moveId("web-1a2b"));
    }
}
