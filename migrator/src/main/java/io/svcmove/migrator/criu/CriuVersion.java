package io.svcmove.migrator.criu;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * CRIU's version. Two nodes must run the same one: images are not promised to move between
 * versions.
 *
 * @param gitId empty for release builds
 */
public record CriuVersion(int major, int minor, int sublevel, String gitId) implements Comparable<CriuVersion> {
    private static final Pattern TEXT = Pattern.compile("(?:Version:\\s*)?(\\d+)\\.(\\d+)(?:\\.(\\d+))?\\s*(?:GitID:\\s*(\\S+))?\\s*");

    public CriuVersion {
        gitId = gitId == null ? "" : gitId;
    }

    /**
     * Parses "4.2.1", "4.2" or the output of {@code criu --version} ("Version: 4.2.1" and an
     * optional "GitID: …" line).
     */
    public static CriuVersion parse(String text) {
        Matcher m = TEXT.matcher(text.strip());
        if (!m.matches()) {
            throw new IllegalArgumentException("not a CRIU version: '" + text.strip() + "' (expected e.g. 4.2.1)");
        }
        return new CriuVersion(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)),
                m.group(3) == null ? 0 : Integer.parseInt(m.group(3)), m.group(4));
    }

    static CriuVersion fromRpc(CriuRpc.Version v) {
        return new CriuVersion(v.getMajorNumber(), v.getMinorNumber(), v.getSublevel(), v.getGitid());
    }

    public boolean atLeast(CriuVersion other) {
        return compareTo(other) >= 0;
    }

    @Override
    public int compareTo(CriuVersion o) {
        int c = Integer.compare(major, o.major);
        if (c == 0) {
            c = Integer.compare(minor, o.minor);
        }
        return c != 0 ? c : Integer.compare(sublevel, o.sublevel);
    }

    /** "4.2.1", or "4.2.1 (git v4.2-12-gabc)" for a build from git. */
    @Override
    public String toString() {
        String v = major + "." + minor + "." + sublevel;
        return gitId.isEmpty() ? v : v + " (git " + gitId + ")";
    }
}
