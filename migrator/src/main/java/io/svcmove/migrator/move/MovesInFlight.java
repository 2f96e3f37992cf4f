package io.svcmove.migrator.move;

import io.svcmove.migrator.service.MoveStage;
import io.svcmove.migrator.service.ServiceRecord.MoveInFlight;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The moves from this node that are under way, as `svcmove moves` lists them: each one's phase and
 * step in the step table's own words, its transfer progress and its age. A move is listed from its
 * start until it ends, whatever the outcome; one whose outcome a move could not know stays listed
 * (from its record) until the agents settle it. `svcmove cancel` stops one here ({@link Entry#cancel}).
 */
public final class MovesInFlight {
    /**
     * Before the step table runs: the checks, the wait for the node's other move or checkpoint, the
     * pre-prepare hooks, the lazy check with the destination. A cancel is taken from here on.
     */
    static final String STARTING = "starting";
    /** While the steps done are undone. */
    static final String ROLLBACK = "rollback";
    /** Recorded but no longer run by a move: the agents settle it when they can ({@link UnfinishedMoves}). */
    static final String UNRESOLVED = "unresolved";

    /**
     * One move as listed (a peer message, {@link MoveMessages.InFlight}). {@code moveId} and {@code stage} are null until the destination was asked to
     * prepare (the first stage recorded); {@code sentBytes} and {@code totalBytes} null before the
     * transfer; {@code ageMs} null for a move found only in its record.
     */
    public record Listed(String service, String moveId, String from, String to, String mode, String phase, String step, String stage,
            Long sentBytes, Long totalBytes, Long ageMs) {}

    private final Clock clock;
    private final Map<String, Entry> byService = new ConcurrentHashMap<>();

    public MovesInFlight(Clock clock) {
        this.clock = clock;
    }

    /**
     * A move of {@code service} begins, as soon as it is asked, so that a cancel finds it;
     * {@code mode} as asked (eager, lazy, auto) until {@link Entry#mode} says which it is. Empty
     * when another move of it is under way here.
     */
    public Optional<Entry> begin(String service, String from, String to, String mode) {
        Entry e = new Entry(service, from, to, mode, clock.instant());
        return byService.putIfAbsent(service, e) == null ? Optional.of(e) : Optional.empty();
    }

    /** The move of {@code service} running here, if any. */
    public Optional<Entry> running(String service) {
        return Optional.ofNullable(byService.get(service));
    }

    /**
     * Thrown at a move's boundary when it was cancelled: the move fails there as if that step had,
     * and is rolled back.
     */
    public static final class Cancelled extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Cancelled(String message) {
            super(message);
        }
    }

    /**
     * The moves under way, by service: those running here, joined with what their records say
     * ({@code recorded}: each service's move in flight, from the registry), and those only recorded.
     */
    public List<Listed> list(Map<String, MoveInFlight> recorded, String node) {
        Instant now = clock.instant();
        List<Listed> out = new ArrayList<>();
        byService.values().forEach(e -> out.add(e.listed(recorded.get(e.service), now)));
        recorded.forEach((service, m) -> {
            if (!byService.containsKey(service)) {
                out.add(new Listed(service, m.id(), node, m.to(), m.lazy() ? "lazy" : "eager", UNRESOLVED, null, m.stage().label(),
                        null, null, null));
            }
        });
        out.sort(Comparator.comparing(Listed::service));
        return out;
    }

    /** One move running here: it sees the move as its listener does, and ends with it. */
    public final class Entry implements MoveListener {
        private final String service;
        private final String from;
        private final String to;
        private final Instant started;
        private volatile String mode;
        private volatile String phase = STARTING;
        private volatile String step;
        private volatile long sent = -1;
        private volatile long total = -1;
        /** The stage the step at the last boundary is judged by (null before the first recorded). */
        private MoveStage stage;
        /** Who asked to cancel, once asked: the next boundary before the point of no return acts on it. */
        private String cancelledBy;

        private Entry(String service, String from, String to, String mode, Instant started) {
            this.service = service;
            this.from = from;
            this.to = to;
            this.mode = mode;
            this.started = started;
        }

        /** The mode the move runs in (eager, lazy, precopy), now that both nodes were asked. */
        public void mode(String chosen) {
            mode = chosen;
        }

        /** Before the step table, where nothing was begun to undo: a cancel asked so far acts here. */
        public synchronized void cancelIfAsked(String before) {
            if (cancelledBy != null) {
                throw new Cancelled("cancelled by " + cancelledBy + ", " + before);
            }
        }

        /** At each boundary: a cancel asked acts here unless the step is past the point of no return. */
        @Override
        public synchronized void stepStarted(Step s) {
            phase = s.phase().label();
            step = s.id();
            stage = s.stage() != null ? s.stage() : stage;
            if (cancelledBy != null && (stage == null || !stage.pastNoReturn())) {
                throw new Cancelled("cancelled by " + cancelledBy + ", at the step " + s.name());
            }
        }

        /** Between pre-copy rounds, which can take long while the service runs on: a cancel asked acts here too. */
        @Override
        public synchronized void precopyRound(OutgoingMove.Round round) {
            if (cancelledBy != null) {
                throw new Cancelled("cancelled by " + cancelledBy + ", after pre-copy round " + round.round());
            }
        }

        /**
         * Asks the move to stop and roll back at its next boundary; {@code by}: who asked, as the move's
         * failure names it ("'svcmove cancel' on node3", "its [move] timeout_s (600 s)"). Refused (the reason returned) once the step under way may lead past the point of no
         * return: from the restore on, only the destination's answer decides (the step table's
         * RESTORING, then ARRIVED or HANDED_OVER); also while it is already rolled back.
         */
        public synchronized Optional<String> cancel(String by) {
            if (phase.equals(ROLLBACK)) {
                return Optional.of("it is already being rolled back");
            }
            if (stage == MoveStage.RESTORING || stage != null && stage.pastNoReturn()) {
                return Optional.of("it is at the step " + step + " (stage " + stage.label() + "): the destination "
                        + (stage == MoveStage.RESTORING ? "is restoring it, and its answer decides where it runs" : "runs it already")
                        + ", so it can no longer be rolled back; it finishes by itself ('svcmove moves' shows it)");
            }
            cancelledBy = by;
            return Optional.empty();
        }

        /** Where the move is now, for the answer to a cancel: "freeze: dump". */
        public String at() {
            return phase + (step == null ? "" : ": " + step);
        }

        @Override
        public void rollingBack(Phase failedIn) {
            phase = ROLLBACK;
        }

        @Override
        public void undone(Step s, long micros) {
            step = s.id();
        }

        @Override
        public void transferred(long sentSoFar, long totalBytes) {
            total = totalBytes;
            sent = sentSoFar;
        }

        /** The move is over (whatever the outcome): no longer listed as running. */
        public void end() {
            byService.remove(service, this);
        }

        private Listed listed(MoveInFlight m, Instant now) {
            boolean transferring = total >= 0;
            return new Listed(service, m == null ? null : m.id(), from, to, mode, phase, step, m == null ? null : m.stage().label(),
                    transferring ? sent : null, transferring ? total : null, Duration.between(started, now).toMillis());
        }
    }
}
