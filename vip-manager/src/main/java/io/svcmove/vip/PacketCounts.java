package io.svcmove.vip;

import java.util.concurrent.atomic.LongAdder;

/**
 * What the packet buffers and the injector of this process did since it started, over every move:
 * frames kept during freezes, those that did not fit, and packets the kernel took on injection.
 * Plain running totals, so that whoever exports them (the agent's metrics) needs nothing from here.
 */
public final class PacketCounts {
    private static final LongAdder BUFFERED = new LongAdder();
    private static final LongAdder BUFFERED_BYTES = new LongAdder();
    private static final LongAdder DROPPED = new LongAdder();
    private static final LongAdder INJECTED = new LongAdder();

    private PacketCounts() {}

    static void countBuffered(int bytes) {
        BUFFERED.increment();
        BUFFERED_BYTES.add(bytes);
    }

    static void countDropped() {
        DROPPED.increment();
    }

    static void countInjected(int packets) {
        INJECTED.add(packets);
    }

    /** Frames kept by a packet buffer during a freeze. */
    public static long buffered() {
        return BUFFERED.sum();
    }

    /** Their IPv4 bytes. */
    public static long bufferedBytes() {
        return BUFFERED_BYTES.sum();
    }

    /** Frames a full buffer could not keep: their senders retransmit them. */
    public static long dropped() {
        return DROPPED.sum();
    }

    /** Packets injected into a cell (on a destination, or back on a source after a rollback) that the kernel took. */
    public static long injected() {
        return INJECTED.sum();
    }
}
