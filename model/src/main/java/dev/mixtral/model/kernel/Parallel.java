package dev.mixtral.model.kernel;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * The compute threads (as many as the cores unless configured) and a parallel-for over index ranges.
 * Work is split by index, never by arrival, so results do not depend on thread count.
 *
 * <p>The calling thread is one of the compute threads: it starts on the range at once and the pool's
 * {@code threads - 1} helpers join it as they wake. On cores shared with other busy processes (the expert
 * nodes and the coordinator on one host) a woken thread can wait milliseconds for a core; a caller that
 * only handed the range over and parked paid that wait twice per range, once for the helper to start and
 * once for itself to be woken at the end. Callers running ranges at the same time (an expert node serving two
 * coordinators) each compute their own, so up to one thread per caller more than configured may be busy.
 */
public final class Parallel {
    private static volatile Pool pool = new Pool(Runtime.getRuntime().availableProcessors());

    /** A body over the half-open index range [from, to). */
    @FunctionalInterface
    public interface RangeBody {
        void run(int from, int to);
    }

    private Parallel() {}

    /**
     * Chunks per thread a range is split into (threads take the next chunk as they finish one, which balances
     * them). On the shared 2-core VMs here one core is often slowed by the host for a while: 16 chunks per
     * thread instead of 4 let the other take more, measured +10% prefill on the Q8_0 layer model (29.5 vs 26.8
     * tokens/s over 5 alternating runs, every pair in favour), decode unchanged. Which thread runs a chunk never
     * changes its result. {@code -Dmixtral.chunksPerThread=N} for A/B runs.
     */
    static final int CHUNKS_PER_THREAD = Integer.getInteger("mixtral.chunksPerThread", 16);

    /** Sets the number of compute threads, the caller of {@link #forRange} included (call at start-up, before work is submitted). */
    public static synchronized void setThreads(int threads) {
        Pool old = pool;
        pool = new Pool(threads);
        old.helpers.shutdown();
    }

    public static int threads() {
        return pool.threads;
    }

    /** Runs body over [0, n) in chunks of at least {@code grain} indices. */
    public static void forRange(int n, int grain, RangeBody body) {
        if (n <= 0) return;
        Pool p = pool;
        int chunks = Math.min(p.threads * CHUNKS_PER_THREAD, Math.max(1, n / Math.max(1, grain)));
        // a helper's body running a range of its own runs it alone: the enclosing range already keeps every thread busy
        if (chunks <= 1 || p.threads == 1 || Thread.currentThread() instanceof Helper) {
            body.run(0, n);
            return;
        }
        Range range = new Range(body, n, (n + chunks - 1) / chunks);
        for (int i = 0; i < Math.min(p.threads - 1, range.chunks - 1); i++) p.helpers.execute(range::work);
        range.work();
        range.awaitChunksOfOthers();
    }

    /** A thread of the pool. */
    private static final class Helper extends Thread {
        Helper(Runnable work, String name) {
            super(work, name);
            setDaemon(true);
        }
    }

    /** {@code threads - 1} daemon helper threads: with the caller, {@code threads} compute at once, never more. */
    private static final class Pool {
        final int threads;
        final ExecutorService helpers;

        Pool(int threads) {
            this.threads = Math.max(1, threads);
            AtomicInteger names = new AtomicInteger();
            this.helpers = Executors.newFixedThreadPool(Math.max(1, this.threads - 1), r -> new Helper(r, "compute-" + names.getAndIncrement()));
        }
    }

    /** One {@link #forRange} call: chunks of {@code chunk} indices, taken in order by whichever thread is free. */
    private static final class Range {
        private final RangeBody body;
        private final int n, chunk, chunks;
        private final Thread caller = Thread.currentThread();
        private final AtomicInteger next = new AtomicInteger();
        private final AtomicInteger unfinished;
        private final AtomicReference<Throwable> failure = new AtomicReference<>();

        Range(RangeBody body, int n, int chunk) {
            this.body = body;
            this.n = n;
            this.chunk = chunk;
            this.chunks = (n + chunk - 1) / chunk;
            this.unfinished = new AtomicInteger(chunks);
        }

        /** Takes chunks until none is left; after a failure the rest are only counted, not run. */
        void work() {
            for (int c; (c = next.getAndIncrement()) < chunks; ) {
                try {
                    if (failure.get() == null) body.run(c * chunk, Math.min(n, (c + 1) * chunk));
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                } finally {
                    if (unfinished.decrementAndGet() == 0) LockSupport.unpark(caller);
                }
            }
        }

        /** Waits (parked: a spinning caller would take the core from the helper it waits for) for chunks still running elsewhere. */
        void awaitChunksOfOthers() {
            while (unfinished.get() > 0) LockSupport.park(this);
            Throwable t = failure.get();
            if (t instanceof RuntimeException e) throw e;
            if (t instanceof Error e) throw e;
            if (t != null) throw new IllegalStateException(t);
        }
    }
}
