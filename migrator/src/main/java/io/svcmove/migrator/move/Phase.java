package io.svcmove.migrator.move;

/**
 * The phases of a move, in order. Logs, progress, --json and metrics all use these names, as CRIU's
 * own action scripts name theirs (pre-dump, post-dump, pre-restore, post-restore).
 */
public enum Phase {
    /** The service still runs: the destination checks itself and builds an empty cell, held. */
    PREPARE,
    /**
     * Pre-copy moves only: CRIU pre-dumps the memory while the service runs, in rounds, each sent to
     * the destination with only what was written since the one before.
     */
    PRECOPY,
    /** The source holds the cell's traffic and CRIU dumps the tree, leaving it stopped. */
    FREEZE,
    /** The images go to the destination over the agents' channel. */
    TRANSFER,
    /** The destination restores the tree into its cell, brings the cell up and lifts the hold. */
    RESTORE,
    /** The destination announces the VIP; the source stops answering for it. */
    ANNOUNCE,
    /** The source hands what its clients sent during the freeze to the destination, which injects it. */
    DRAIN,
    /** The destination keeps the service; the source kills its frozen copy and removes its cell. */
    COMMIT;

    public String label() {
        return name().toLowerCase();
    }
}
