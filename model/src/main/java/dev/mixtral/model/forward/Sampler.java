package dev.mixtral.model.forward;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Chooses tokens from logits for one sequence; its random stream is its own, so batching never
 * changes a draw. Candidates are ordered by logit (ties: lower id first); only as many as the top-k /
 * nucleus can need are sorted, since this runs once per token on the engine's thread.
 */
public final class Sampler {
    /** Tokens below this fraction of the best token's probability are sorted only if the nucleus needs them. */
    private static final double TAIL = 1e-6;

    private final SamplingParams params;
    private final SplittableRandom random;

    public Sampler(SamplingParams params) {
        this.params = params;
        this.random = new SplittableRandom(params.seed());
    }

    public int next(float[] logits) {
        return next(logits, 0, logits.length);
    }

    /** Picks a token from {@code logits[off .. off + vocab)}. */
    public int next(float[] logits, int off, int vocab) {
        if (params.greedy()) return argmax(logits, off, vocab);
        double t = params.temperature();
        float max = logits[off + argmax(logits, off, vocab)];
        int keep = params.topK() > 0 ? Math.min(params.topK(), vocab) : vocab;
        int[] order = ordered(logits, off, vocab, keep, (float) (max + t * Math.log(TAIL)));
        // exp((logit - max) / t) of every token that may be drawn, by id: computed once, read by each pass below
        double[] weight = new double[vocab];
        double total = 0;
        if (keep == vocab) {
            for (int i = 0; i < vocab; i++) total += weight[i] = Math.exp((logits[off + i] - max) / t);
        } else {
            if (order.length < keep) order = ordered(logits, off, vocab, keep, Float.NEGATIVE_INFINITY);
            for (int i = 0; i < keep; i++) total += weight[order[i]] = Math.exp((logits[off + order[i]] - max) / t);
        }
        // the nucleus: the smallest prefix whose probability reaches top_p
        double cumulative = 0;
        int nucleus = -1;
        for (int i = 0; i < Math.min(keep, order.length); i++) {
            cumulative += weight[order[i]] / total;
            if (cumulative >= params.topP()) {
                nucleus = i + 1;
                break;
            }
        }
        if (nucleus < 0) {
            if (order.length < keep) { // the tail is needed after all: order everything kept
                order = ordered(logits, off, vocab, keep, Float.NEGATIVE_INFINITY);
                return next(order, weight, keep, total);
            }
            nucleus = Math.min(keep, order.length);
        }
        return next(order, weight, nucleus, total);
    }

    /** Draws from the first {@code n} of {@code order}, proportionally to their probabilities. */
    private int next(int[] order, double[] weight, int n, double total) {
        double mass = 0;
        double[] p = new double[n];
        for (int i = 0; i < n; i++) mass += p[i] = weight[order[i]] / total;
        double r = random.nextDouble() * mass;
        for (int i = 0; i < n; i++) {
            r -= p[i];
            if (r < 0) return order[i];
        }
        return order[n - 1];
    }

    /**
     * Ids with logit ≥ {@code floor}, best first (ties: lower id), at most {@code limit} of them: a
     * sort of packed (logit, id) longs, so no boxing.
     */
    private static int[] ordered(float[] logits, int off, int vocab, int limit, float floor) {
        long[] keys = new long[vocab];
        int n = 0;
        for (int i = 0; i < vocab; i++) {
            float l = logits[off + i];
            if (l >= floor) keys[n++] = ((long) ~sortable(l) << 32) | i; // ascending keys = descending logits
        }
        Arrays.sort(keys, 0, n);
        int[] ids = new int[Math.min(n, limit)];
        for (int i = 0; i < ids.length; i++) ids[i] = (int) keys[i];
        return ids;
    }

    /** An int whose signed order is the float's order. */
    private static int sortable(float f) {
        int bits = Float.floatToIntBits(f);
        return bits >= 0 ? bits : bits ^ 0x7FFFFFFF;
    }

    public static int argmax(float[] logits, int off, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) {
            if (logits[off + i] > logits[off + best]) best = i;
        }
        return best;
    }
}
