package io.svcmove.migrator.peer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.util.AttributeKey;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The receiving half of file transfers. {@code transfer.begin} announces names and sizes and gets
 * a stream number; chunks for that stream are written, in order, by a serial task on the server's
 * executor (never the event loop); {@code transfer.end} is answered once every byte is written and
 * every size matches. Reading from a connection pauses while too much data waits for the disk,
 * which pushes back on the sender through TCP.
 */
final class TransferReceiver {
    private static final Logger LOG = LoggerFactory.getLogger(TransferReceiver.class);
    static final long PAUSE_READING_BYTES = 32L << 20;
    static final long RESUME_READING_BYTES = 8L << 20;
    /** Transfers open at once, from all peers: a move has one; each holds files open and up to the pause bytes in memory. */
    static final int MAX_STREAMS = 16;
    private static final AttributeKey<AtomicLong> PENDING = AttributeKey.valueOf("svcmove.pendingWriteBytes");
    /** Transfer ids end up in paths chosen by the target: keep them plain. */
    private static final Pattern TRANSFER_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
    private static final FileAttribute<Set<PosixFilePermission>> DIR_MODE =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"));
    private static final FileAttribute<Set<PosixFilePermission>> FILE_MODE =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"));

    private final Executor executor;
    private volatile TransferTarget target;
    private final AtomicInteger nextStream = new AtomicInteger();
    private final Map<Integer, Incoming> streams = new ConcurrentHashMap<>();
    private final Set<String> active = ConcurrentHashMap.newKeySet();
    private final Map<String, CompletableFuture<ReceivedTransfer>> results = new ConcurrentHashMap<>();

    TransferReceiver(Executor executor) {
        this.executor = executor;
    }

    void target(TransferTarget target) {
        this.target = target;
    }

    CompletableFuture<ReceivedTransfer> await(String transferId) {
        CompletableFuture<ReceivedTransfer> f = results.computeIfAbsent(transferId, k -> new CompletableFuture<>());
        f.whenComplete((r, e) -> results.remove(transferId, f));
        return f.copy();
    }

    /** {@code transfer.begin}: runs on the executor (it creates the directory and files). */
    JsonNode begin(Channel ch, String peer, JsonNode body) throws IOException {
        TransferTarget t = target;
        if (t == null) {
            throw new PeerException("this node accepts no file transfers (no transfer target configured)");
        }
        String id = body.path("transferId").asText("");
        if (!TRANSFER_ID.matcher(id).matches()) {
            throw new PeerException("invalid transfer id '" + id + "': letters, digits, '.', '_' and '-' only");
        }
        JsonNode files = body.path("files");
        if (!files.isArray()) {
            throw new PeerException("transfer.begin without a file list");
        }
        String[] names = new String[files.size()];
        long[] sizes = new long[files.size()];
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < names.length; i++) {
            names[i] = files.get(i).path("name").asText("");
            sizes[i] = files.get(i).path("size").asLong(-1);
            if (!isPlainFileName(names[i]) || !seen.add(names[i])) {
                throw new PeerException("transfer " + id + ": invalid or repeated file name '" + names[i] + "'");
            }
            if (sizes[i] < 0) {
                throw new PeerException("transfer " + id + ": file " + names[i] + " without a valid size");
            }
        }
        if (streams.size() >= MAX_STREAMS) {
            throw new PeerException("transfer " + id + " refused: " + MAX_STREAMS + " transfers are already in progress on this node;"
                    + " try again when some have ended");
        }
        if (!active.add(id)) {
            throw new PeerException("transfer " + id + " is already in progress");
        }
        try {
            CompletableFuture<ReceivedTransfer> previous = results.get(id);
            if (previous != null && previous.isDone()) {
                if (!previous.isCompletedExceptionally()) {
                    throw new PeerException("transfer " + id + " was already received");
                }
                results.remove(id, previous);
            }
            Path dir = t.directoryFor(peer, id);
            createTree(dir, names);
            int stream = nextStream.incrementAndGet();
            Incoming in = new Incoming(id, peer, ch, dir, names, sizes, new SerialExecutor(executor));
            streams.put(stream, in);
            LOG.info("receiving transfer {} from {}: {} files, {} bytes, into {}", id, peer, names.length, in.total(), dir);
            ObjectNode reply = Wire.JSON.createObjectNode();
            reply.put("stream", stream);
            return reply;
        } catch (IOException | RuntimeException e) {
            active.remove(id);
            throw e;
        }
    }

    /** A data chunk, on the event loop: queue the write, pause reading if the queue is long. */
    void chunk(Channel ch, PeerMessage.Chunk c) throws PeerException {
        Incoming in = streams.get(c.stream());
        if (in == null || in.channel != ch || c.file() < 0 || c.file() >= in.names.length) {
            c.release();
            throw new PeerProtocolException("data for unknown transfer stream " + c.stream() + " file " + c.file());
        }
        int n = c.data().readableBytes();
        AtomicLong pending = pending(ch);
        pending.addAndGet(n);
        adjustReading(ch);
        try {
            in.writer.execute(() -> {
                try {
                    in.write(c.file(), c.data());
                } finally {
                    c.release();
                    pending.addAndGet(-n);
                    ch.eventLoop().execute(() -> adjustReading(ch));
                }
            });
        } catch (RejectedExecutionException e) {
            c.release();
            pending.addAndGet(-n);
            // Closing the connection fails the transfer, with this reason on both sides.
            throw new PeerException("transfer " + in.id + " failed: this node is overloaded (no thread free to write its data)", e);
        }
    }

    /** {@code transfer.end}: answered after the stream's queued writes, with every size checked. */
    CompletableFuture<JsonNode> end(Channel ch, String peer, JsonNode body) {
        int stream = body.path("stream").asInt(-1);
        Incoming in = streams.get(stream);
        if (in == null || in.channel != ch) {
            return CompletableFuture.failedFuture(new PeerException("no transfer stream " + stream + " from " + peer));
        }
        CompletableFuture<JsonNode> reply = new CompletableFuture<>();
        try {
            in.writer.execute(() -> {
                try {
                    ReceivedTransfer done = in.finish();
                    streams.remove(stream);
                    active.remove(in.id);
                    results.computeIfAbsent(in.id, k -> new CompletableFuture<>()).complete(done);
                    LOG.info("received transfer {} from {}: {} files, {} bytes", in.id, peer, in.names.length, done.bytes());
                    ObjectNode r = Wire.JSON.createObjectNode();
                    r.put("files", in.names.length).put("bytes", done.bytes());
                    reply.complete(r);
                } catch (IOException e) {
                    abort(stream, in, e);
                    reply.completeExceptionally(e);
                }
            });
        } catch (RejectedExecutionException e) {
            PeerException overloaded = new PeerException("this node is overloaded (no thread free to finish transfer " + in.id + ")", e);
            abort(stream, in, overloaded);
            reply.completeExceptionally(overloaded);
        }
        return reply;
    }

    /** Transfers still open on a closed connection fail, and their partial files are removed. */
    void channelClosed(Channel ch) {
        streams.forEach((stream, in) -> {
            if (in.channel == ch) {
                abort(stream, in, new PeerException("connection from " + in.peer + " closed before transfer " + in.id + " ended"));
            }
        });
    }

    private void abort(int stream, Incoming in, IOException cause) {
        if (!streams.remove(stream, in)) {
            return;
        }
        LOG.warn("transfer {} from {} failed: {}", in.id, in.peer, cause.getMessage());
        try {
            in.writer.execute(in::discard);
        } catch (RejectedExecutionException e) {
            in.discard(); // on this thread: partial files must not stay because the node was busy
        }
        active.remove(in.id);
        results.computeIfAbsent(in.id, k -> new CompletableFuture<>())
                .completeExceptionally(new PeerException("transfer " + in.id + " from " + in.peer + " failed: " + cause.getMessage(), cause));
    }

    /**
     * Reading pauses while too much data waits for the disk, or while the peer does not take the
     * replies already written (the channel is not writable); it resumes when neither holds. On the event loop.
     */
    static void adjustReading(Channel ch) {
        long pending = pending(ch).get();
        boolean reading = ch.config().isAutoRead();
        if (reading && (pending > PAUSE_READING_BYTES || !ch.isWritable())) {
            ch.config().setAutoRead(false);
        } else if (!reading && pending < RESUME_READING_BYTES && ch.isWritable()) {
            ch.config().setAutoRead(true);
        }
    }

    /** Whether a transfer on {@code ch} is still open. */
    boolean hasStreams(Channel ch) {
        return streams.values().stream().anyMatch(in -> in.channel == ch);
    }

    private static AtomicLong pending(Channel ch) {
        return PeerEvents.attribute(ch, PENDING, AtomicLong::new);
    }

    static boolean isPlainFileName(String name) {
        return !name.isEmpty() && name.length() <= 255 && !name.equals(".") && !name.equals("..")
                && name.indexOf('/') < 0 && name.indexOf('\0') < 0;
    }

    private static void createTree(Path dir, String[] names) throws IOException {
        Path parent = dir.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        try {
            Files.createDirectory(dir, DIR_MODE);
        } catch (FileAlreadyExistsException e) {
            throw new PeerException(dir + " already exists: remove it, or use a new transfer id");
        }
        for (String name : names) {
            Files.createFile(dir.resolve(name), FILE_MODE);
        }
    }

    /** One transfer in progress. Everything but the constructor runs on {@link #writer}, serially. */
    private static final class Incoming {
        final String id;
        final String peer;
        final Channel channel;
        final Path dir;
        final String[] names;
        final long[] sizes;
        final long[] written;
        final SerialExecutor writer;
        private int current = -1;
        private FileChannel file;
        private IOException failure;

        Incoming(String id, String peer, Channel channel, Path dir, String[] names, long[] sizes, SerialExecutor writer) {
            this.id = id;
            this.peer = peer;
            this.channel = channel;
            this.dir = dir;
            this.names = names;
            this.sizes = sizes;
            this.written = new long[names.length];
            this.writer = writer;
        }

        long total() {
            long t = 0;
            for (long s : sizes) {
                t += s;
            }
            return t;
        }

        void write(int index, ByteBuf data) {
            if (failure != null) {
                return;
            }
            try {
                if (index != current) {
                    closeFile();
                    file = FileChannel.open(dir.resolve(names[index]), StandardOpenOption.WRITE);
                    current = index;
                }
                if (data.readableBytes() > sizes[index] - written[index]) {
                    throw new PeerException(names[index] + ": more bytes than the announced " + sizes[index]);
                }
                while (data.isReadable()) {
                    written[index] += data.readBytes(file, written[index], data.readableBytes());
                }
            } catch (IOException e) {
                failure = e;
            }
        }

        ReceivedTransfer finish() throws IOException {
            closeFile();
            if (failure != null) {
                throw failure;
            }
            long bytes = 0;
            for (int i = 0; i < names.length; i++) {
                long onDisk = Files.size(dir.resolve(names[i]));
                if (written[i] != sizes[i] || onDisk != sizes[i]) {
                    throw new PeerException(names[i] + ": " + onDisk + " bytes arrived, " + sizes[i] + " announced");
                }
                bytes += sizes[i];
            }
            return new ReceivedTransfer(peer, id, dir, List.of(names), bytes);
        }

        void discard() {
            try {
                closeFile();
                for (String name : names) {
                    Files.deleteIfExists(dir.resolve(name));
                }
                Files.deleteIfExists(dir);
            } catch (IOException e) {
                LOG.warn("cannot remove the partial transfer in {}: {}", dir, e.getMessage());
            }
        }

        private void closeFile() throws IOException {
            if (file != null) {
                FileChannel f = file;
                file = null;
                current = -1;
                f.close();
            }
        }
    }
}
