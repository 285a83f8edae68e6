package dev.mixtral.model.kernel;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ParallelTest {
    @AfterAll
    static void restoreThreads() {
        Parallel.setThreads(Runtime.getRuntime().availableProcessors());
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4})
    void everyIndexRunsExactlyOnce(int threads) {
        Parallel.setThreads(threads);
        for (int n : new int[] {1, 2, 7, 64, 1000, 4099}) {
            for (int grain : new int[] {1, 3, 100}) {
                AtomicIntegerArray runs = new AtomicIntegerArray(n);
                Parallel.forRange(n, grain, (from, to) -> {
                    for (int i = from; i < to; i++) runs.incrementAndGet(i);
                });
                for (int i = 0; i < n; i++) assertThat(runs.get(i)).as("index %d of %d, grain %d", i, n, grain).isEqualTo(1);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {2, 4})
    void rangesInsideRangesComplete(int threads) {
        Parallel.setThreads(threads);
        int outer = 16, inner = 300;
        AtomicIntegerArray runs = new AtomicIntegerArray(outer * inner);
        Parallel.forRange(outer, 1, (from, to) -> {
            for (int o = from; o < to; o++) {
                int base = o * inner;
                Parallel.forRange(inner, 1, (f, t) -> {
                    for (int i = f; i < t; i++) runs.incrementAndGet(base + i);
                });
            }
        });
        for (int i = 0; i < outer * inner; i++) assertThat(runs.get(i)).as("index %d", i).isEqualTo(1);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 4})
    void aFailingChunkFailsTheCallAndLeavesThePoolUsable(int threads) {
        Parallel.setThreads(threads);
        IllegalStateException boom = new IllegalStateException("chunk failed");
        assertThatThrownBy(() -> Parallel.forRange(1000, 1, (from, to) -> {
            if (from <= 500 && 500 < to) throw boom;
        })).isSameAs(boom);
        // the pool is still usable afterwards
        AtomicIntegerArray runs = new AtomicIntegerArray(100);
        Parallel.forRange(100, 1, (from, to) -> {
            for (int i = from; i < to; i++) runs.incrementAndGet(i);
        });
        for (int i = 0; i < 100; i++) assertThat(runs.get(i)).isEqualTo(1);
    }
}
