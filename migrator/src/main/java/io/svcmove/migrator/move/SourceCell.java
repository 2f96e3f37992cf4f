package io.svcmove.migrator.move;

import io.svcmove.vip.Cell;
import io.svcmove.vip.Cells;
import io.svcmove.vip.PacketInjector;
import java.util.List;
import java.util.Optional;

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

    /** The cells of a node, as a move finds and removes them. */
    interface Store {
        Optional<SourceCell> find(String service);

        void destroy(String service);

        static Store of(Cells cells) {
            return new Store() {
                @Override
                public Optional<SourceCell> find(String service) {
                    return cells.find(service).map(SourceCell::of);
                }

                @Override
                public void destroy(String service) {
                    cells.destroy(service);
                }
            };
        }
    }

    static SourceCell of(Cell cell) {
        return new SourceCell() {
            @Override
            public void openHoldControl() {
                cell.openHoldControl();
            }

            @Override
            public void closeHoldControl() {
                cell.closeHoldControl();
            }

            @Override
            public void hold() {
                cell.hold();
            }

            @Override
            public void release() {
                cell.release();
            }

            @Override
            public void linkDown() {
                cell.linkDown();
            }

            @Override
            public void linkUp() {
                cell.linkUp();
            }

            @Override
            public long netnsInode() {
                return cell.netnsInode();
            }

            @Override
            public List<Long> pids() {
                return cell.pids();
            }

            @Override
            public List<Cell.Neighbor> neighbors() {
                return cell.neighbors();
            }

            @Override
            public int inject(List<byte[]> packets) {
                return PacketInjector.inject(cell, packets);
            }
        };
    }
}
