package dev.mixtral.model.synth;

import java.util.SortedSet;
import java.util.TreeSet;

/**
 * Makes chosen experts hot in a synthetic model: their router rows (in every layer) are multiplied by
 * {@code scale}, so their router logits spread {@code scale} times wider and they win the top-k for
 * about half the tokens each instead of topK/experts. The scale is a power of two, so the scaled
 * weights are exact in every type; the file is an ordinary model file, routed by the ordinary code.
 */
public record RouterSkew(SortedSet<Integer> experts, int scale) {
    public static final RouterSkew NONE = new RouterSkew(new TreeSet<>(), 1);

    public RouterSkew {
        experts = java.util.Collections.unmodifiableSortedSet(new TreeSet<>(experts));
        if (scale < 1 || Integer.bitCount(scale) != 1) {
            throw new IllegalArgumentException("the hot experts' router scale must be a power of two >= 1 (exact in every type), got " + scale);
        }
        for (int e : experts) if (e < 0) throw new IllegalArgumentException("no expert " + e);
    }

    boolean scales(int expert) {
        return scale != 1 && experts.contains(expert);
    }

    /** Checks the experts exist in a model with {@code total} experts. */
    void check(int total) {
        for (int e : experts) {
            if (e >= total) throw new IllegalArgumentException("hot expert " + e + " does not exist: the model has experts 0.." + (total - 1));
        }
    }
}
