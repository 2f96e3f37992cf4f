package io.svcmove.migrator.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A carried file leaves one node's disk in the images and arrives on the other's as it was. */
class CarriedFilesTest {
    @TempDir
    Path source;
    @TempDir
    Path destination;
    @TempDir
    Path images;

    @Test
    void aPidfileArrivesWithItsContentOwnerAndModeAndItsDirectoryIsMade() throws IOException {
        Path pidfile = source.resolve("run/apache2/apache2.pid");
        Files.createDirectories(pidfile.getParent());
        Files.writeString(pidfile, "31\n");
        Files.setPosixFilePermissions(pidfile, PosixFilePermissions.fromString("rw-r-----"));
        boolean root = "root".equals(System.getProperty("user.name"));
        if (root) {
            Files.setAttribute(pidfile, "unix:gid", 33);
        }
        Map<String, Object> copied = CarriedFiles.pack(List.of(pidfile.toString()), images);

        Path there = destination.resolve("run/apache2/apache2.pid");
        // The same path on the other node: here another directory stands for it, so the manifest's path is rewritten.
        Path manifest = images.resolve("carried.json");
        Files.writeString(manifest, Files.readString(manifest).replace(source.toString(), destination.toString()));
        assertEquals(List.of(there.toString()), CarriedFiles.place(images, List.of(there.toString())));
        assertEquals("31\n", Files.readString(there));
        assertEquals("rw-r-----", PosixFilePermissions.toString(Files.getPosixFilePermissions(there)));
        if (root) {
            assertEquals(33, Files.getAttribute(there, "unix:gid"));
        }
        try (var left = Files.list(there.getParent())) {
            assertEquals(List.of(there), left.toList(), "no temporary file is left beside it");
        }

        CarriedFiles.removeCopied(copied);
        assertFalse(Files.exists(pidfile), "the source's copy goes once the service runs elsewhere");
        CarriedFiles.remove(List.of(there.toString()));
        assertFalse(Files.exists(there), "what a dropped move wrote goes");
    }

    @Test
    void whereNodesShareADiskTheFileTheDestinationWroteStays() throws IOException {
        Path pidfile = source.resolve("web.pid");
        Files.writeString(pidfile, "7\n");
        Map<String, Object> copied = CarriedFiles.pack(List.of(pidfile.toString()), images);
        assertEquals(List.of(pidfile.toString()), CarriedFiles.place(images, List.of(pidfile.toString())));
        CarriedFiles.removeCopied(copied);
        assertEquals("7\n", Files.readString(pidfile), "the destination's file is not the one the source copied");
    }

    @Test
    void aFileTheServiceHadNotWrittenIsRemovedWhereItArrives() throws IOException {
        Path stale = destination.resolve("app.pid");
        CarriedFiles.pack(List.of(stale.toString()), images); // absent when packed: the service had not written it
        Files.writeString(stale, "999\n"); // left on the destination by an earlier run
        assertEquals(List.of(), CarriedFiles.place(images, List.of(stale.toString())));
        assertFalse(Files.exists(stale), "a stale pidfile on the destination would point at a process that is not the service");
    }

    @Test
    void aServiceWithoutCarriedFilesLeavesNoManifest() throws IOException {
        CarriedFiles.pack(List.of(), images);
        try (var in = Files.list(images)) {
            assertEquals(0, in.count());
        }
        assertEquals(List.of(), CarriedFiles.place(images, List.of()));
    }

    @Test
    void aLargeFileIsRefusedWithTheFix() throws IOException {
        Path big = source.resolve("data.db");
        Files.write(big, new byte[(int) CarriedFiles.MAX_BYTES + 1]);
        IOException e = assertThrows(IOException.class, () -> CarriedFiles.pack(List.of(big.toString()), images));
        assertTrue(e.getMessage().contains("storage both nodes share"), e.getMessage());
    }

    @Test
    void onlyThePathsTheServiceCarriesAreWritten() throws IOException {
        Path f = source.resolve("a.pid");
        Files.writeString(f, "1\n");
        CarriedFiles.pack(List.of(f.toString()), images);
        Files.delete(f);
        IOException e = assertThrows(IOException.class, () -> CarriedFiles.place(images, List.of("/run/other.pid")));
        assertTrue(e.getMessage().contains("does not carry"), e.getMessage());
        assertFalse(Files.exists(f));
    }

    @Test
    void carriedPathsAreAbsoluteFilesOfTheService() {
        assertNull(CarriedFiles.problem("/run/apache2/apache2.pid"));
        for (String bad : List.of("run/x.pid", "/run/../etc/passwd", "/", "/proc/1/status", "/sys/x", "/dev/null", "/run//x")) {
            assertTrue(CarriedFiles.problem(bad) != null, bad + " is refused");
        }
    }
}
