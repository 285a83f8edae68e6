package dev.mixtral.node;

import dev.mixtral.model.ModelConfig;
import dev.mixtral.model.forward.ExpertBatch;
import dev.mixtral.model.forward.ExpertExecutor;
import dev.mixtral.model.forward.LocalExperts;
import dev.mixtral.model.weights.ModelFiles;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * The experts a node computes: those of its placement, mapped at start, and up to {@code maxExtra}
 * extra experts loaded while serving (replicas of hot experts). An extra expert is mapped from the
 * same model file through its own {@link ModelFiles}, so unloading it unmaps exactly its bytes.
 * Every expert runs the same {@link LocalExperts} code whichever set it is in, so the bits do not
 * depend on it.
 */
final class NodeExperts implements ExpertExecutor {
    /** Thrown when a load would exceed the node's bound on extra experts. */
    static final class LimitReached extends RuntimeException {
        LimitReached(String message) {
            super(message);
        }
    }

    /** An extra expert: its own mapping of the file, and how many loads of it are not yet undone. */
    private record Extra(ModelFiles files, LocalExperts experts, int loads) {}

    private final Path model;
    private final ModelConfig config;
    private final LocalExperts placement;
    private final ModelFiles placementFiles;
    private final int maxExtra;
    // computing reads the extras; adding or removing one waits for the computations using them, so an
    // expert is never unmapped under a computation
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private final Map<Integer, Extra> extras = new TreeMap<>();
    private final Object changes = new Object(); // loads and unloads one at a time, without blocking compute while mapping

    NodeExperts(ModelFiles files, LocalExperts placement, int maxExtra) {
        if (maxExtra < 0) throw new IllegalArgumentException("--max-extra-experts must be >= 0, got " + maxExtra);
        this.model = files.path();
        this.config = files.config();
        this.placementFiles = files;
        this.placement = placement;
        this.maxExtra = maxExtra;
    }

    int maxExtra() {
        return maxExtra;
    }

    /** Placement and extra experts, ascending. */
    SortedSet<Integer> held() {
        SortedSet<Integer> all = new TreeSet<>(placement.held());
        all.addAll(extras());
        return all;
    }

    SortedSet<Integer> extras() {
        lock.readLock().lock();
        try {
            return new TreeSet<>(extras.keySet());
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Bytes of the model file mapped for the placement and the extra experts. */
    long mappedBytes() {
        lock.readLock().lock();
        try {
            long n = placementFiles.mappedBytes();
            for (Extra e : extras.values()) n += e.files().mappedBytes();
            return n;
        } finally {
            lock.readLock().unlock();
        }
    }

    /**
     * Holds {@code expert} as an extra (once more, if already loaded). Nothing to do for an expert of
     * the placement.
     *
     * @throws LimitReached             the node holds {@code maxExtra} extra experts already
     * @throws IllegalArgumentException no such expert
     */
    void load(int expert) {
        if (expert < 0 || expert >= config.experts()) {
            throw new IllegalArgumentException("expert " + expert + " does not exist: the model has experts 0.." + (config.experts() - 1));
        }
        if (placement.held().contains(expert)) return;
        synchronized (changes) {
            Extra held = extra(expert);
            if (held != null) {
                replace(expert, new Extra(held.files(), held.experts(), held.loads() + 1));
                return;
            }
            int count = extras().size();
            if (count >= maxExtra) {
                throw new LimitReached("this node already holds " + count + " extra experts " + extras() + ", its limit (--max-extra-experts "
                        + maxExtra + "); cannot load expert " + expert);
            }
            ModelFiles files = ModelFiles.open(model); // header only; the load maps this expert's bytes
            try {
                replace(expert, new Extra(files, LocalExperts.load(files, new TreeSet<>(Set.of(expert))), 1));
            } catch (RuntimeException e) {
                files.close();
                throw e;
            }
        }
    }

    /**
     * Undoes one {@link #load}; the last one unmaps the expert once the computations using it are done.
     *
     * @throws IllegalStateException the expert is of the placement, or not loaded as an extra
     */
    void unload(int expert) {
        if (placement.held().contains(expert)) {
            throw new IllegalStateException("expert " + expert + " is part of this node's placement (" + placement.held() + "), not an extra expert");
        }
        synchronized (changes) {
            Extra held = extra(expert);
            if (held == null) throw new IllegalStateException("expert " + expert + " is not loaded here as an extra expert (extras: " + extras() + ")");
            replace(expert, held.loads() > 1 ? new Extra(held.files(), held.experts(), held.loads() - 1) : null);
            if (held.loads() == 1) held.files().close();
        }
    }

    private Extra extra(int expert) {
        lock.readLock().lock();
        try {
            return extras.get(expert);
        } finally {
            lock.readLock().unlock();
        }
    }

    private void replace(int expert, Extra next) {
        lock.writeLock().lock();
        try {
            if (next == null) extras.remove(expert); else extras.put(expert, next);
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** Computes each expert of the batch where it is held: the placement's together, each extra one on its own mapping. */
    @Override
    public float[][] compute(ExpertBatch batch) {
        lock.readLock().lock();
        try {
            if (extras.isEmpty() || placement.held().containsAll(ids(batch))) return placement.compute(batch);
            float[][] out = new float[batch.experts().length][];
            List<Integer> own = new ArrayList<>();
            for (int i = 0; i < out.length; i++) {
                Extra extra = extras.get(batch.experts()[i]);
                if (extra == null) own.add(i);
                else out[i] = extra.experts().compute(batch.layer(), batch.experts()[i], batch.inputs()[i], batch.rows()[i]);
            }
            if (!own.isEmpty()) {
                float[][] computed = placement.compute(subBatch(batch, own));
                for (int j = 0; j < own.size(); j++) out[own.get(j)] = computed[j];
            }
            return out;
        } finally {
            lock.readLock().unlock();
        }
    }

    private static Set<Integer> ids(ExpertBatch batch) {
        Set<Integer> ids = new TreeSet<>();
        for (int e : batch.experts()) ids.add(e);
        return ids;
    }

    private static ExpertBatch subBatch(ExpertBatch batch, List<Integer> indices) {
        int[] experts = new int[indices.size()];
        int[] rows = new int[indices.size()];
        float[][] inputs = new float[indices.size()][];
        for (int j = 0; j < indices.size(); j++) {
            experts[j] = batch.experts()[indices.get(j)];
            rows[j] = batch.rows()[indices.get(j)];
            inputs[j] = batch.inputs()[indices.get(j)];
        }
        return new ExpertBatch(batch.layer(), experts, rows, inputs);
    }

    /** Unmaps the extra experts (the placement's mapping belongs to the node). */
    void closeExtras() {
        synchronized (changes) {
            for (int e : extras()) {
                Extra held = extra(e);
                replace(e, null);
                held.files().close();
            }
        }
    }
}
