package io.svcmove.migrator.agent;

import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * Thread pools for work that others can ask for (peers, the CLI): up to a fixed number of
 * threads, made as needed and gone after a minute idle, then a bounded queue; past that, submitting
 * throws {@link java.util.concurrent.RejectedExecutionException}, which the caller turns into an
 * error answer. Never more threads or queued tasks than that, however many requests arrive.
 */
final class BoundedPool {
    private BoundedPool() {}

    static ThreadPoolExecutor of(String name, int threads, int queue) {
        // Core = max with core timeout: new threads up to the limit before anything queues, none kept idle.
        ThreadPoolExecutor pool = new ThreadPoolExecutor(threads, threads, 60, TimeUnit.SECONDS, new ArrayBlockingQueue<>(queue), r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        }, new ThreadPoolExecutor.AbortPolicy());
        pool.allowCoreThreadTimeOut(true);
        return pool;
    }
}
