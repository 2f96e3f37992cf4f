package io.svcmove.migrator.move;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalInt;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where a pre-copy move's rounds are, alike on both nodes: round N's images in {@code pre-N} beside
 * the final images ({@code images/}) in the move's directory, each linked to the one before as
 * CRIU's {@code parent}, so that the final dump names only what changed since the last round and
 * the restore follows the links back for the rest. Each round goes to the destination as a transfer
 * of its own ({@link #transferId}); the transfer carries files, not links, so the destination makes
 * the links ({@link #link}) before it restores.
 */
final class PrecopyImages {
    private static final Pattern ROUND = Pattern.compile("(.+)\\.pre-([1-9][0-9]?)");

    private PrecopyImages() {}

    /** Round {@code round}'s directory name inside the move's directory. */
    static String dir(int round) {
        return "pre-" + round;
    }

    /** Round {@code round}'s images as the parent of a sibling directory (the next round's, or the final images). */
    static String parent(int round) {
        return "../" + dir(round);
    }

    /** The transfer that carries round {@code round} of move {@code moveId}. */
    static String transferId(String moveId, int round) {
        return moveId + ".pre-" + round;
    }

    /** The round a transfer carries, or empty for the move's final images. */
    static OptionalInt round(String transferId) {
        Matcher m = ROUND.matcher(transferId);
        return m.matches() ? OptionalInt.of(Integer.parseInt(m.group(2))) : OptionalInt.empty();
    }

    /** The move a transfer belongs to. */
    static String moveId(String transferId) {
        Matcher m = ROUND.matcher(transferId);
        return m.matches() ? m.group(1) : transferId;
    }

    /**
     * The source's round {@code roundDir}, once sent: the next dump reads of it only its pagemaps
     * (which pages it holds), never the pages themselves, so each pages file becomes a hole of its
     * size, and the source's tmpfs does not keep a second copy of the service's memory for the
     * rest of the move (with rounds of a large service, enough to run its node out of memory).
     */
    static void releasePages(Path roundDir) throws IOException {
        try (var files = Files.newDirectoryStream(roundDir, "pages-*.img")) {
            for (Path f : files) {
                try (RandomAccessFile r = new RandomAccessFile(f.toFile(), "rw")) {
                    long size = r.length();
                    r.setLength(0);
                    r.setLength(size);
                }
            }
        }
    }

    /**
     * The destination's links, before the restore: each round after the first to the one before, and
     * the final images to the last round. Throws when a round did not arrive.
     */
    static void link(Path moveDir, Path images, int rounds) throws IOException {
        for (int n = 1; n <= rounds; n++) {
            if (!Files.isDirectory(moveDir.resolve(dir(n)))) {
                throw new IOException("pre-copy round " + n + " of " + rounds + " did not arrive in " + moveDir);
            }
        }
        for (int n = 1; n <= rounds; n++) {
            Path from = n == rounds ? images : moveDir.resolve(dir(n + 1));
            Files.createSymbolicLink(from.resolve("parent"), Path.of(parent(n)));
        }
    }
}
