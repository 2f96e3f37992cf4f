package io.svcmove.migrator.move;

import io.svcmove.vip.Cell;
import io.svcmove.vip.Vips;
import java.nio.file.Path;
import java.util.List;

/** The destination's cell of an arriving service, as {@link IncomingMoves} drives it: a node's {@link Cell}, or a fake in tests. */
interface ArrivingCell {
    Vips vips();

    String netnsName();

    /** Its network namespace, handed to CRIU's restore. */
    Path netnsPath();

    void addNeighbors(List<Cell.Neighbor> neighbors);

    void openHoldControl();

    void closeHoldControl();

    /** Lifts the hold: frames go in and out again. */
    void release();

    /** Frames the source buffered during the freeze, into the cell's own stack; how many went in. */
    int inject(List<byte[]> packets);

    static ArrivingCell of(Cell cell) {
        return new NodeCell(cell);
    }
}
