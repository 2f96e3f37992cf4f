package io.svcmove.migrator.move;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import io.svcmove.migrator.service.MoveStage;
import io.svcmove.migrator.service.ServiceRecord;
import io.svcmove.vip.Cell;
import java.util.List;

/**
 * The peer messages of a move, one record per request and reply, each field named once (in JSON
 * as snake_case). The request type each goes with is in {@link Type}.
 */
final class MoveMessages {
    private MoveMessages() {}

    /** Peer request types of a move. */
    static final class Type {
        static final String PREPARE = "move.prepare";
        static final String RESTORE = "move.restore";
        static final String ANNOUNCE = "move.announce";
        static final String INJECT = "move.inject";
        static final String COMMIT = "move.commit";
        static final String ABORT = "move.abort";
        static final String CLAIM = "move.claim";
        static final String ACTIVE = "move.active";
        static final String RUN = "move.run";
        static final String RUN_CHECK = "move.run_check";
        static final String WHERE = "service.where";
        static final String LAZY_CHECK = "move.lazy_check";
        static final String IN_FLIGHT = "move.in_flight";
        static final String CANCEL = "move.cancel";
        static final String CHECK = "move.check";

        private Type() {}
    }

    /**
     * The source asks for an empty, held cell. {@code service} is recorded as the source has it (its
     * move and arrival left out); {@code needs}: what the service needs of the destination (CPU,
     * memory), null from a source that does not say; {@code streamFrom}: the source's node
     * certificate (PEM) when it would stream the memory of its dump to a page server there ({@link
     * PageSink}), else null.
     */
    record Prepare(String moveId, String criuVersion, ServiceFiles files, ServiceRecord service, List<Cell.Neighbor> neighbors,
            NodeResources.Needs needs, String streamFrom) {}

    /** For move.check: what prepare would be asked, without a move: the destination runs its checks of prepare only. */
    record Check(String criuVersion, ServiceFiles files, ServiceRecord service, NodeResources.Needs needs) {}

    /** The destination's checks of prepare, each with its result. */
    record Checked(String node, List<Preflight> checks) {}

    /**
     * The destination, held; {@code certificate} is its node certificate (PEM), whose key a lazy
     * move's page certificate certifies. For a streamed move its page server ({@code pageServer}
     * and {@code pagePort}; 0 when it takes none, and the images then carry the memory) and the
     * certificate (PEM) it accepts there, the source's key certified for this move.
     */
    record Prepared(String node, String criuVersion, String certificate, String pageServer, int pagePort, String pageCertificate) {
        boolean streams() {
            return pagePort > 0;
        }
    }

    /** For announce, commit, abort, claim and active: the move, and the service it moves. */
    record MoveRef(String moveId, String name) {
        MoveRef {
            requireId(moveId);
        }
    }

    /**
     * Restore now: the connections have been stopped {@code sinceDumpMs} by the source's clock (their
     * TCP timestamps resume that much later); a lazy move names the source's page server and
     * carries the certificate (PEM) the destination presents to it, the only one it accepts; a
     * pre-copy move says how many rounds it sent before the final images ({@link PrecopyImages});
     * {@code packets}: what the service's clients sent during the freeze so far, injected as soon as
     * the service runs (the rest follows at the drain).
     */
    @JsonIgnoreProperties(ignoreUnknown = true)
    record Restore(String moveId, long sinceDumpMs, String pageServer, int pagePort, String pageCertificate, int precopyRounds,
            List<byte[]> packets) {
        Restore {
            requireId(moveId);
            packets = packets == null ? List.of() : packets;
            if (pageServer != null && (pageCertificate == null || pageCertificate.isBlank())) {
                throw new IllegalArgumentException("a lazy restore needs the page certificate the source's page server accepts");
            }
            if (precopyRounds < 0 || precopyRounds > PrecopyPolicy.MAX_ROUNDS || pageServer != null && precopyRounds > 0) {
                throw new IllegalArgumentException("precopy_rounds is 0.." + PrecopyPolicy.MAX_ROUNDS + ", and 0 for a lazy move: "
                        + precopyRounds);
            }
        }

        boolean lazy() {
            return pageServer != null;
        }
    }

    /**
     * {@code injected}: how many of the restore's packets went into the service's cell; {@code
     * memoryAfterBytes}: the memory restored after the service runs, copied in from the streamed pages
     * before the commit (0: restored with it; absent from an older destination).
     */
    record Restored(long pid, long restoreMs, int injected, long memoryAfterBytes) {}

    record Inject(String moveId, List<byte[]> packets) {}

    record Injected(int injected) {}

    /** Whether the destination keeps the service (commit, claim), and the stage it has the move at (null: none). */
    record Kept(boolean kept, MoveStage stage) {}

    /** Abort's answer: whether the destination knew the move (it removed what it had made). */
    record Aborted(boolean known) {}

    /** Whether the source still runs the move (a destination with a held cell asks). */
    record Active(boolean active) {}

    /** A CLI's move (RUN) or check (RUN_CHECK, {@code buffer} unused), forwarded to the node that runs the service. */
    record Run(String name, String node, boolean buffer, boolean force, String mode) {}

    /**
     * For move.cancel: the service whose move to cancel, and who asked, as the move's failure names
     * it ("'svcmove cancel' on node3").
     */
    record Cancel(String name, String by) {}

    /** For service.where: a service, by name. */
    record ServiceRef(String name) {}

    record Where(String node, boolean runsHere) {}

    /** A node's part of `svcmove moves`: the moves from it under way. */
    record InFlight(String node, boolean reachable, List<MovesInFlight.Listed> moves) {}

    /**
     * What a node lacks for a lazy move (empty: it can take one), and for a pre-copy one (dirty-page
     * tracking; null from a node that does not know pre-copy).
     */
    record LazyCheck(List<String> missing, List<String> precopyMissing) {}

    private static void requireId(String moveId) {
        if (moveId == null || moveId.isBlank()) {
            throw new IllegalArgumentException("move_id is missing");
        }
    }
}
