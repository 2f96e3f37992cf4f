package io.svcmove.migrator.agent;

import java.util.Map;

/**
 * One greppable audit line ("AUDIT key=value ..."). Values that are not plain tokens are quoted
 * with backslash escapes, so a service name or command line holding spaces, quotes or newlines
 * cannot end the line early or forge another field.
 */
public final class AuditLine {
    private AuditLine() {
    }

    /** The line for these fields, in their iteration order (pass a LinkedHashMap). */
    public static String format(Map<String, ?> fields) {
        StringBuilder b = new StringBuilder("AUDIT");
        fields.forEach((k, v) -> b.append(' ').append(k).append('=').append(value(String.valueOf(v))));
        return b.toString();
    }

    /** A plain token as is; anything else in double quotes, with \\, \", and control characters escaped. */
    static String value(String v) {
        if (!v.isEmpty() && v.chars().allMatch(AuditLine::plain)) {
            return v;
        }
        StringBuilder b = new StringBuilder("\"");
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20 || c == 0x7f) {
                        b.append(String.format("\\x%02x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }

    private static boolean plain(int c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                || c == '.' || c == '-' || c == '_' || c == ':' || c == '/' || c == '@';
    }
}
