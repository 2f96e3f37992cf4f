package io.svcmove.migrator.pki;

import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * When a node certificate stops working, and what an operator is told before and after: the
 * warnings of the agent and of {@code svcmove nodes}, and the refusals of an expired certificate,
 * all say how to renew it the same way.
 */
public final class CertificateExpiry {
    /** Warned about this long before: enough for a renewal to wait for a maintenance window. */
    public static final Duration WARN_BEFORE = Duration.ofDays(30);

    private CertificateExpiry() {}

    /** Whole days until {@code cert} expires, rounded down; negative once it has. */
    public static long daysLeft(X509Certificate cert, Instant now) {
        return Math.floorDiv(cert.getNotAfter().getTime() - now.toEpochMilli(), Duration.ofDays(1).toMillis());
    }

    public static boolean expired(X509Certificate cert, Instant now) {
        return !now.isBefore(cert.getNotAfter().toInstant());
    }

    /** Expired, or expires within {@link #WARN_BEFORE}. */
    public static boolean expiresSoon(X509Certificate cert, Instant now) {
        return now.plus(WARN_BEFORE).isAfter(cert.getNotAfter().toInstant());
    }

    /**
     * The warning for a certificate of {@code node} that expires within {@link #WARN_BEFORE} (or has
     * expired), with how to renew it; empty while it has longer.
     */
    public static Optional<String> warning(String node, X509Certificate cert, Instant now) {
        if (!expiresSoon(cert, now)) {
            return Optional.empty();
        }
        Instant notAfter = cert.getNotAfter().toInstant();
        long days = daysLeft(cert, now);
        String when = expired(cert, now) ? "expired on " + notAfter
                : "expires on " + notAfter + (days == 0 ? " (within a day)" : " (in " + days + (days == 1 ? " day)" : " days)"));
        return Optional.of("the certificate of " + node + " " + when + ": " + renewal(node));
    }

    /**
     * How to renew {@code node}'s certificate: {@code svcmove cert node} never overwrites a pair, so
     * the old one is deleted first; the agent takes the new one on reload, without a restart.
     */
    public static String renewal(String node) {
        return "renew it where the cluster CA is: delete " + node + ".key and " + node + ".crt there, run `svcmove cert node "
                + node + " --dir DIR --ip ADDRESS`, copy both files to " + node + " and run `systemctl reload svcmove-agent` there";
    }
}
