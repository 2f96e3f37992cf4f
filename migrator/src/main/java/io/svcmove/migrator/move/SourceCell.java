package io.svcmove.migrator.move;

import io.svcmove.vip.Cell;
import java.util.List;

/** The source's cell of a moving service, as its step table drives it: a node's {@link Cell}, or a fake in tests. */
interface SourceCell {
    void openHoldControl();

    void closeHoldControl();

    /** Every frame in or out of the cell dropped: the freeze, for its clients. */
    void hold();

    void release();

    void linkDown();

    void linkUp();

    long netnsInode();

    List<Long> pids();

    List<Cell.Neighbor> neighbors();

    /** Frames its clients sent, into its own stack; how many went in. */
    int inject(List<byte[]> packets);

    static SourceCell of(Cell cell) {
        return new NodeCell(cell);
    }
}
