package io.svcmove.migrator.criu;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/** Quotes the useful part of a CRIU log for an exception message. */
final class CriuLog {
    static final int TAIL_LINES = 15;
    static final int MAX_ERROR_LINES = 10;
    /** At log level 4 a log runs to megabytes; the end is all that is quoted. */
    private static final int READ_BYTES = 256 * 1024;

    /** Known causes on these machines → what to do about them. */
    private static final Map<String, String> HINTS = Map.of(
            "session leader", "start the service with setsid inside its PID namespace",
            "Can't dump rlimits", "root lacks CAP_SYS_RESOURCE here, so trees that switch uid cannot be dumped: "
                    + "run the service as root",
            "Can't get 1:16 opt", "this CRIU predates kernel 6.16's SO_PASSCRED change: use CRIU 4.2.1 (native/setup)",
            "page-pipe: splice", "raise fs.pipe-max-size (sysctl fs.pipe-max-size=16777216)",
            "External socket", "the tree has a socket to a process outside it: stop using it or mark it external",
            "Unable to find lock", "CRIU's network lock is missing: pass the same network lock method as the dump");

    private CriuLog() {
    }

    /** The quoted tail of {@code log}, or a note saying why there is none. */
    static String quote(Path log) {
        if (log == null || !Files.isRegularFile(log)) {
            return "(no CRIU log at " + log + ")";
        }
        try {
            return quote(readTail(log), log);
        } catch (IOException e) {
            return "(CRIU log " + log + " unreadable: " + e.getMessage() + ")";
        }
    }

    static String quote(List<String> lines, Path log) {
        if (lines.isEmpty()) {
            return "(CRIU log " + log + " is empty)";
        }
        List<String> errors = lines.stream().filter(CriuLog::isError).limit(MAX_ERROR_LINES).toList();
        List<String> tail = lines.subList(Math.max(0, lines.size() - TAIL_LINES), lines.size());
        StringBuilder sb = new StringBuilder("CRIU log ").append(log).append(':');
        if (!errors.isEmpty()) {
            sb.append("\n  errors:");
            errors.forEach(l -> sb.append("\n    ").append(l));
        }
        sb.append("\n  last lines:");
        tail.forEach(l -> sb.append("\n    ").append(l));
        List<String> hints = HINTS.entrySet().stream()
                .filter(h -> lines.stream().anyMatch(l -> l.contains(h.getKey())))
                .map(Map.Entry::getValue).sorted().toList();
        hints.forEach(h -> sb.append("\n  hint: ").append(h));
        return sb.toString();
    }

    /** CRIU marks errors as "Error (file:line): …" after the timestamp; perror-style lines end in errno text. */
    static boolean isError(String line) {
        return line.contains("Error (") || line.startsWith("Error") || line.contains("): Error");
    }

    static List<String> readTail(Path log) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(log.toFile(), "r")) {
            long start = Math.max(0, f.length() - READ_BYTES);
            byte[] buf = new byte[(int) (f.length() - start)];
            f.seek(start);
            f.readFully(buf);
            List<String> lines = new ArrayList<>(Arrays.asList(new String(buf, StandardCharsets.UTF_8).split("\n")));
            if (start > 0 && !lines.isEmpty()) {
                lines.remove(0); // a partial line
            }
            lines.removeIf(String::isBlank);
            return lines;
        }
    }
}
