package io.svcmove.testbed;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** Ends a process the tests started, with the descendants it still has, by PID only. */
final class ProcessTree {
    private ProcessTree() {}

    /** SIGTERM to the root and every descendant, SIGKILL to whatever is left after {@code grace}. */
    static void kill(ProcessHandle root, Duration grace) {
        List<ProcessHandle> tree = new ArrayList<>();
        // Listed before any signal: a killed parent's children are reparented and lost from view.
        root.descendants().forEach(tree::add);
        tree.add(root);
        tree.forEach(ProcessHandle::destroy);
        long deadline = System.nanoTime() + grace.toNanos();
        while (tree.stream().anyMatch(ProcessHandle::isAlive) && System.nanoTime() < deadline) {
            sleep(Duration.ofMillis(50));
        }
        tree.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
    }

    static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
