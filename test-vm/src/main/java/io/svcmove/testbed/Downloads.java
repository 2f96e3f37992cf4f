package io.svcmove.testbed;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** What a test of a download across moves checks: how far the file has come, and that it came out whole. */
public final class Downloads {
    private Downloads() {
    }

    /** Bytes downloaded so far; 0 before the file exists. */
    public static long size(Path p) {
        try {
            return Files.size(p);
        } catch (IOException e) {
            return 0;
        }
    }

    public static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    public static String sha256(Path p) throws IOException {
        return sha256(Files.readAllBytes(p));
    }
}
