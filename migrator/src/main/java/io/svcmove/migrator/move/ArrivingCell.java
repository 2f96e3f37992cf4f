package io.svcmove.migrator.move;

import io.svcmove.vip.Cell;
import io.svcmove.vip.CellSpec;
import io.svcmove.vip.Cells;
import io.svcmove.vip.PacketInjector;
import io.svcmove.vip.Vip;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/** The destination's cell of an arriving service, as {@link IncomingMoves} drives it: a node's {@link Cell}, or a fake in tests. */
interface ArrivingCell {
    Vip vip();

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

    /** The cells of a node, as an incoming move makes, finds and removes them. */
    interface Store {
        /** A new cell, held (it drops every frame) from the start. */
        ArrivingCell createHeld(CellSpec spec);

        Optional<ArrivingCell> find(String service);

        void destroy(String service);

        static Store of(Cells cells) {
            return new Store() {
                @Override
                public ArrivingCell createHeld(CellSpec spec) {
                    return ArrivingCell.of(cells.createHeld(spec));
                }

                @Override
                public Optional<ArrivingCell> find(String service) {
                    return cells.find(service).map(ArrivingCell::of);
                }

                @Override
                public void destroy(String service) {
                    cells.destroy(service);
                }
            };
        }
    }

    static ArrivingCell of(Cell cell) {
        return new ArrivingCell() {
            @Override
            public Vip vip() {
                return cell.vip();
            }

            @Override
            public String netnsName() {
                return cell.netnsName();
            }

            @Override
            public Path netnsPath() {
                return cell.netnsPath();
            }

            @Override
            public void addNeighbors(List<Cell.Neighbor> neighbors) {
                cell.addNeighbors(neighbors);
            }

            @Override
            public void openHoldControl() {
                cell.openHoldControl();
            }

            @Override
            public void closeHoldControl() {
                cell.closeHoldControl();
            }

            @Override
            public void release() {
                cell.release();
            }

            @Override
            public int inject(List<byte[]> packets) {
                return PacketInjector.inject(cell, packets);
            }
        };
    }
}
