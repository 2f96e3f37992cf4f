package io.svcmove.testbed;

import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/** Bounded waiting for tests on the bed: every wait ends by itself. */
public final class Wait {
    private static final long POLL_MS = 50;

    private Wait() {}

    /** Polls COND until it holds; fails with WHAT after TIMEOUT. */
    public static void until(Duration timeout, String what, BooleanSupplier cond) {
        until(timeout, () -> what, cond);
    }

    /** As above, with WHAT told at the timeout: the state the wait ended in, not the one it began in. */
    public static void until(Duration timeout, Supplier<String> what, BooleanSupplier cond) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeout.toSeconds() + " s waiting until " + what.get());
            }
            sleep(POLL_MS);
        }
    }

    /** Thread.sleep for tests: an interrupt fails the test instead of being swallowed. */
    public static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }
}
