package dev.mixtral.model.forward;

import dev.mixtral.model.ModelConfig;
import dev.mixtral.model.io.ProgressListener;
import dev.mixtral.model.kernel.Parallel;
import dev.mixtral.model.weights.ExpertWeights;
import dev.mixtral.model.weights.ModelFiles;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.SortedSet;
import java.util.TreeSet;

/** Experts computed in this process from the memory-mapped file: all of them, or a node's share. */
public final class LocalExperts implements ExpertExecutor {
    /** Multiply-adds of one expert's three products below which experts run side by side (~0.1-0.2 ms each). */
    static final long SIDE_BY_SIDE_MACS = 1L << 22;

    private final ModelConfig config;
    private final ExpertWeights[][] weights; // [layer][expert], null where not held
    private final SortedSet<Integer> held;

    private LocalExperts(ModelConfig config, ExpertWeights[][] weights, SortedSet<Integer> held) {
        this.config = config;
        this.weights = weights;
        this.held = held;
    }

    /** Maps the given experts of every layer (and nothing else). */
    public static LocalExperts load(ModelFiles files, SortedSet<Integer> experts) {
        ModelConfig c = files.config();
        ExpertWeights[][] w = new ExpertWeights[c.layers()][c.experts()];
        for (int e : experts) {
            if (e < 0 || e >= c.experts()) {
                throw new IllegalArgumentException("expert " + e + " does not exist: the model has experts 0.." + (c.experts() - 1));
            }
        }
        for (int l = 0; l < c.layers(); l++) {
            for (int e : experts) w[l][e] = files.loadExpert(l, e);
        }
        return new LocalExperts(c, w, new TreeSet<>(experts));
    }

    public static LocalExperts loadAll(ModelFiles files) {
        SortedSet<Integer> all = new TreeSet<>();
        for (int e = 0; e < files.config().experts(); e++) all.add(e);
        return load(files, all);
    }

    public SortedSet<Integer> held() {
        return held;
    }

    /** Slice paged in at a time: progress is reported between slices. */
    private static final long PAGE_IN_SLICE = 64L << 20;

    /**
     * Reads every page of the held experts' weights into memory now, so that the first calls do not wait
     * on the disk (for a model far larger than the page cache, a first layer call can take longer than a
     * call deadline). Returns the bytes paged in.
     */
    public long pageIn(ProgressListener progress) {
        List<MemorySegment> segments = new ArrayList<>();
        for (ExpertWeights[] layer : weights) {
            for (ExpertWeights w : layer) {
                if (w != null) segments.addAll(List.of(w.gate().data(), w.up().data(), w.down().data()));
            }
        }
        long total = segments.stream().mapToLong(MemorySegment::byteSize).sum(), done = 0;
        for (MemorySegment segment : segments) {
            for (long offset = 0; offset < segment.byteSize(); offset += PAGE_IN_SLICE) {
                MemorySegment slice = segment.asSlice(offset, Math.min(PAGE_IN_SLICE, segment.byteSize() - offset));
                if (slice.isMapped()) slice.load();
                done += slice.byteSize();
                progress.progress(done, total);
            }
        }
        return total;
    }

    @Override
    public float[][] compute(ExpertBatch batch) {
        float[][] out = new float[batch.experts().length][];
        // Small experts go side by side on the pool, one expert per task: one fork per layer instead of one
        // per product, which on 2 busy cores costs more than a small product (tens of µs to wake a worker).
        // Large ones run one after another, each product split over the pool by rows. Either way an expert's
        // result is computed by the same operations, so it does not depend on this choice.
        boolean sideBySide = out.length > 1;
        for (int i = 0; i < out.length && sideBySide; i++) {
            sideBySide = 3L * config.hidden() * config.dim() * batch.rows()[i] <= SIDE_BY_SIDE_MACS;
        }
        if (sideBySide) {
            for (int e : batch.experts()) weights(batch.layer(), e); // fail here, not inside a pool task
            Parallel.forRange(out.length, 1, (from, to) -> {
                for (int i = from; i < to; i++) out[i] = compute(batch.layer(), batch.experts()[i], batch.inputs()[i], batch.rows()[i]);
            });
            return out;
        }
        for (int i = 0; i < out.length; i++) {
            out[i] = compute(batch.layer(), batch.experts()[i], batch.inputs()[i], batch.rows()[i]);
        }
        return out;
    }

    private ExpertWeights weights(int layer, int expert) {
        if (layer < 0 || layer >= config.layers()) {
            throw new IllegalArgumentException("layer " + layer + " out of range 0.." + (config.layers() - 1));
        }
        ExpertWeights w = expert >= 0 && expert < config.experts() ? weights[layer][expert] : null;
        if (w == null) {
            throw new IllegalArgumentException("expert " + expert + " of layer " + layer + " is not held here (held: " + held + ")");
        }
        return w;
    }

    /** down · (silu(gate · x) ⊙ (up · x)) for {@code rows} tokens. */
    public float[] compute(int layer, int expert, float[] x, int rows) {
        ExpertWeights w = weights(layer, expert);
        int hidden = config.hidden();
        float[] gate = new float[rows * hidden];
        float[] up = new float[rows * hidden];
        w.gate().multiply(x, rows, gate);
        w.up().multiply(x, rows, up);
        for (int i = 0; i < gate.length; i++) {
            float g = gate[i];
            gate[i] = g / (1f + (float) Math.exp(-g)) * up[i];
        }
        float[] out = new float[rows * config.dim()];
        w.down().multiply(gate, rows, out);
        return out;
    }
}
