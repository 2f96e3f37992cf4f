package io.svcmove.testbed;

import static org.junit.jupiter.api.Assertions.fail;

import java.time.Duration;

/** Polls a condition, bounded: tests on real processes wait for them, never forever. */
final class Await {
    private Await() {}

    interface Check {
        boolean holds() throws Exception;
    }

    static void upTo10s(Check check, String failure) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!check.holds()) {
            if (System.nanoTime() > deadline) {
                fail(failure);
            }
            ProcessTree.sleep(Duration.ofMillis(50));
        }
    }
}
