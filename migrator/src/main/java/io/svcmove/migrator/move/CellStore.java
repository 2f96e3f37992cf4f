package io.svcmove.migrator.move;

import io.svcmove.vip.Cell;
import io.svcmove.vip.Cells;
import java.util.Optional;
import java.util.function.Function;

/**
 * The cells of a node as one side of a move finds and removes them, each seen as {@code T} (a
 * {@link SourceCell}, an {@link ArrivingCell}): a node's {@link Cells}, or a fake in tests.
 */
interface CellStore<T> {
    Optional<T> find(String service);

    void destroy(String service);

    static <T> CellStore<T> of(Cells cells, Function<Cell, T> view) {
        return new CellStore<>() {
            @Override
            public Optional<T> find(String service) {
                return cells.find(service).map(view);
            }

            @Override
            public void destroy(String service) {
                cells.destroy(service);
            }
        };
    }
}
