package io.svcmove.migrator.peer;

/** Progress of {@link PeerClient#sendFiles}; called on the sending thread after each chunk. */
@FunctionalInterface
public interface ProgressListener {
    ProgressListener NONE = (sent, total) -> { };

    void progress(long bytesSent, long bytesTotal);
}
