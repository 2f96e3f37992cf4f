package io.svcmove.migrator.move;

import io.svcmove.migrator.criu.FrozenTree;
import io.svcmove.migrator.criu.ImageDir;
import io.svcmove.migrator.criu.CriuDaemon;
import io.svcmove.migrator.peer.Messages;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A lazily restored service on the destination faults on every page it has not got yet: when the
 * page fetcher fails or stalls (a lazy move's source failed; the copy from the images here failed),
 * the service is killed at once, whether or not the source is still there to hear of it, and
 * {@code failed} is told why. The images go once the fetcher is done. Fault boundary {@code
 * dest-pages}: a failure there is the fetcher's.
 */
final class PageWatch {
    private static final Logger log = LoggerFactory.getLogger(PageWatch.class);
    private final CompletableFuture<Void> done = new CompletableFuture<>();

    private PageWatch() {}

    /**
     * @param lost what the failure means for the service, for the log and {@code failed}: "the
     *     source's pages stopped arriving before the last one"
     */
    static PageWatch start(String moveId, String service, String node, CriuDaemon daemon, long pid, ImageDir images,
            Duration timeout, FaultInjection faults, String lost, Consumer<String> failed) {
        PageWatch w = new PageWatch();
        Thread t = new Thread(() -> {
            try {
                faults.at("dest-pages");
                daemon.await(timeout);
                log.info("move {}: every page of {} arrived", moveId, service);
                w.done.complete(null);
            } catch (Exception e) {
                String why = lost + " (" + firstLine(e.getMessage()) + ")";
                log.error("move {}: {} FAILED on {}: {}; killed. Full reason: {}", moveId, service, node, why, e.getMessage());
                try {
                    new FrozenTree(pid).kill(5, TimeUnit.SECONDS);
                    daemon.close();
                } catch (Exception k) {
                    log.error("move {}: cleaning up the failed {}: {}", moveId, service, k.toString());
                }
                failed.accept(why);
                w.done.completeExceptionally(new IllegalStateException(service + " failed on " + node + ": " + why));
            } finally {
                try {
                    images.close();
                } catch (IOException e) {
                    log.error("move {}: deleting the images in {}: {}", moveId, images.path(), e.toString());
                }
            }
        }, "lazy-pages-" + moveId);
        t.setDaemon(true);
        t.start();
        return w;
    }

    /** Returns once every page has arrived; throws if they stopped. */
    void await() throws Exception {
        Messages.await(done);
    }

    private static String firstLine(String s) {
        return s == null ? "" : s.lines().findFirst().orElse("");
    }
}
