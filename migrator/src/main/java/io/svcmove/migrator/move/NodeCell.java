package io.svcmove.migrator.move;

import io.svcmove.vip.Cell;
import io.svcmove.vip.PacketInjector;
import io.svcmove.vip.Vips;
import java.nio.file.Path;
import java.util.List;

/** A node's {@link Cell} as either side of a move drives it. */
final class NodeCell implements SourceCell, ArrivingCell {
    private final Cell cell;

    NodeCell(Cell cell) {
        this.cell = cell;
    }

    @Override
    public Vips vips() {
        return cell.vips();
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
    public int inject(List<byte[]> packets) {
        return PacketInjector.inject(cell, packets);
    }
}
