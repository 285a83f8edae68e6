package dev.mixtral.model.forward;

import java.util.Arrays;
import java.util.SplittableRandom;

/** Chooses tokens from logits for one sequence; its random stream is its own, so batching never changes a draw. */
public final class Sampler {
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
        Integer[] order = new Integer[vocab];
        for (int i = 0; i < vocab; i++) order[i] = i;
        Arrays.sort(order, (a, b) -> {
            int cmp = Float.compare(logits[off + b], logits[off + a]);
            return cmp != 0 ? cmp : Integer.compare(a, b);
        });
        int keep = params.topK() > 0 ? Math.min(params.topK(), vocab) : vocab;
        double max = logits[off + order[0]] / params.temperature();
        double[] p = new double[keep];
        double sum = 0;
        for (int i = 0; i < keep; i++) {
            p[i] = Math.exp(logits[off + order[i]] / params.temperature() - max);
            sum += p[i];
        }
        double cumulative = 0;
        int nucleus = keep;
        for (int i = 0; i < keep; i++) {
            p[i] /= sum;
            cumulative += p[i];
            if (cumulative >= params.topP()) {
                nucleus = i + 1;
                break;
            }
        }
        double mass = 0;
        for (int i = 0; i < nucleus; i++) mass += p[i];
        double r = random.nextDouble() * mass;
        for (int i = 0; i < nucleus; i++) {
            r -= p[i];
            if (r < 0) return order[i];
        }
        return order[nucleus - 1];
    }

    public static int argmax(float[] logits, int off, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) {
            if (logits[off + i] > logits[off + best]) best = i;
        }
        return best;
    }
}
