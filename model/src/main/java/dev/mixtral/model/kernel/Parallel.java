package dev.mixtral.model.kernel;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RecursiveAction;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The fixed pool of compute threads (sized to the cores unless configured) and a parallel-for over
 * index ranges. Work is split by index, never by arrival, so results do not depend on thread count.
 */
public final class Parallel {
    private static volatile ForkJoinPool pool = newPool(Runtime.getRuntime().availableProcessors());

    /** A body over the half-open index range [from, to). */
    @FunctionalInterface
    public interface RangeBody {
        void run(int from, int to);
    }

    private Parallel() {}

    /**
     * Chunks per thread a range is split into (work-stealing balances them). On the shared 2-core VMs here one
     * core is often slowed by the host for a while: 16 chunks per thread instead of 4 let the other take more,
     * measured +10% prefill on the Q8_0 layer model (29.5 vs 26.8 tokens/s over 5 alternating runs, every
     * pair in favour), decode unchanged. Which thread runs a chunk never changes its result.
     * {@code -Dmixtral.chunksPerThread=N} for A/B runs.
     */
    static final int CHUNKS_PER_THREAD = Integer.getInteger("mixtral.chunksPerThread", 16);

    private static ForkJoinPool newPool(int threads) {
        int n = Math.max(1, threads);
        AtomicInteger names = new AtomicInteger();
        return new ForkJoinPool(n, p -> {
            var t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(p);
            t.setName("compute-" + names.getAndIncrement());
            t.setDaemon(true);
            return t;
        }, null, false,
                // never more threads than configured: by default a worker waiting in a join may start a spare
                // one, and an extra runnable thread on a fully used core only time-slices with the others
                // (seen with --threads 2: three workers busy on two cores)
                n, n, 0, pool -> true, 60, TimeUnit.SECONDS);
    }

    /** Sets the number of compute threads (call at start-up, before work is submitted). */
    public static synchronized void setThreads(int threads) {
        ForkJoinPool old = pool;
        pool = newPool(threads);
        old.shutdown();
    }

    public static int threads() {
        return pool.getParallelism();
    }

    /** Runs body over [0, n) in chunks of at least {@code grain} indices. */
    public static void forRange(int n, int grain, RangeBody body) {
        if (n <= 0) return;
        int chunks = Math.min(threads() * CHUNKS_PER_THREAD, Math.max(1, n / Math.max(1, grain)));
        if (chunks <= 1) {
            body.run(0, n);
            return;
        }
        pool.invoke(new Split(body, 0, n, (n + chunks - 1) / chunks));
    }

    private static final class Split extends RecursiveAction {
        private final RangeBody body;
        private final int from, to, chunk;

        Split(RangeBody body, int from, int to, int chunk) {
            this.body = body;
            this.from = from;
            this.to = to;
            this.chunk = chunk;
        }

        @Override
        protected void compute() {
            if (to - from <= chunk) {
                body.run(from, to);
                return;
            }
            int mid = from + (to - from) / 2;
            invokeAll(new Split(body, from, mid, chunk), new Split(body, mid, to, chunk));
        }
    }
}
