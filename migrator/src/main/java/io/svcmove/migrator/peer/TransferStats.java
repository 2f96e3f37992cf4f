package io.svcmove.migrator.peer;

import java.time.Duration;

/** What {@link PeerClient#sendFiles} sent, once the receiver confirmed every file. */
public record TransferStats(int files, long bytes, Duration elapsed) {
    /** Throughput in MB/s (10^6 bytes), for logs and benchmarks. */
    public double megabytesPerSecond() {
        double seconds = elapsed.toNanos() / 1e9;
        return seconds == 0 ? 0 : bytes / 1e6 / seconds;
    }
}
