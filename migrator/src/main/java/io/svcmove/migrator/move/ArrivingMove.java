package io.svcmove.migrator.move;

import io.svcmove.migrator.criu.ImageDir;
import io.svcmove.migrator.service.CarriedFiles;
import io.svcmove.migrator.service.MoveStage;
import io.svcmove.migrator.service.ServiceRecord;
import io.svcmove.vip.ServiceLauncher;
import java.util.List;

/**
 * One service on its way in, from its prepare until the source lets go: what the destination made
 * for it and the move's {@link MoveStage} here. Before ARRIVED it lives in memory only. Whoever
 * reads or changes its stage, or acts on what it holds, does so under its lock.
 */
final class ArrivingMove {
    final String id;
    final String from;
    final ServiceRecord service;
    final ArrivingCell cell;
    final ImageDir images;
    /** What the restore is handed instead of reopening it: the output pipe, node-local logs. */
    final ServiceFiles files;
    final ServiceLauncher.Relay relay;
    private MoveStage stage = MoveStage.PREPARED;
    /** The page fetcher of a lazy move, or of a streamed one whose memory is copied in after the restore. */
    PageWatch pages;
    /** A streamed move's page server, from prepare to the restore. */
    PageSink sink;
    /** The files this node wrote for the service ({@link CarriedFiles}): removed if the move is dropped. */
    List<String> carried = List.of();

    ArrivingMove(String id, String from, ServiceRecord service, ArrivingCell cell, ImageDir images, ServiceFiles files,
            ServiceLauncher.Relay relay) {
        this.id = id;
        this.from = from;
        this.service = service;
        this.cell = cell;
        this.images = images;
        this.files = files;
        this.relay = relay;
    }

    synchronized MoveStage stage() {
        return stage;
    }

    /** The next stage; a transition {@link MoveStage} does not allow throws, and the stage stays. */
    synchronized void to(MoveStage next) {
        stage = stage.to(next);
    }

    /**
     * Under the lock: the move is over before it arrived, and what was made for it goes (the held
     * cell, its page server, its images, the files carried in, anything CRIU left in the cell).
     */
    synchronized void drop(CellStore<ArrivingCell> cells) throws Exception {
        to(MoveStage.ABORTED);
        if (sink != null) {
            sink.close();
        }
        cell.closeHoldControl();
        cells.destroy(service.name());
        images.close();
        CarriedFiles.remove(carried);
    }
}
