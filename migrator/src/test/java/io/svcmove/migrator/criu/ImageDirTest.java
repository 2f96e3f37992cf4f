package io.svcmove.migrator.criu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageDirTest {
    @Test
    void privateOnTmpfsAndGoneAfterClose(@TempDir Path outside) throws Exception {
        Path keep = Files.writeString(outside.resolve("keep"), "not an image");
        Path dir;
        try (ImageDir images = ImageDir.create("svcmove-test-")) {
            dir = images.path();
            assertTrue(dir.startsWith("/dev/shm") || dir.startsWith("/run"), dir.toString());
            assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)));
            Files.createDirectories(dir.resolve("sub"));
            Files.writeString(dir.resolve("sub/pages-1.img"), "memory");
            Files.createSymbolicLink(dir.resolve("link"), outside);
        }
        assertFalse(Files.exists(dir), "deleted recursively");
        assertTrue(Files.exists(keep), "a symlink inside is removed, never followed");
    }
}
