package dev.mixtral.model.forward;

import java.util.Arrays;

/**
 * The router's decision for one layer's tokens: each token's top-k experts (softmax over all experts,
 * top k, the k probabilities renormalised to sum to 1), regrouped by expert.
 */
final class Routing {
    private final int[][] tokensByExpert;
    private final float[][] weightsByExpert;
    private final int[] active;

    private Routing(int[][] tokensByExpert, float[][] weightsByExpert, int[] active) {
        this.tokensByExpert = tokensByExpert;
        this.weightsByExpert = weightsByExpert;
        this.active = active;
    }

    static Routing route(float[] logits, int tokens, int experts, int topK) {
        int[] counts = new int[experts];
        int[][] chosen = new int[tokens][topK];
        float[][] chosenWeight = new float[tokens][topK];
        float[] p = new float[experts];
        for (int t = 0; t < tokens; t++) {
            int base = t * experts;
            float max = Float.NEGATIVE_INFINITY;
            for (int e = 0; e < experts; e++) max = Math.max(max, logits[base + e]);
            float sum = 0f;
            for (int e = 0; e < experts; e++) {
                p[e] = (float) Math.exp(logits[base + e] - max);
                sum += p[e];
            }
            for (int e = 0; e < experts; e++) p[e] /= sum;
            boolean[] taken = new boolean[experts];
            float chosenSum = 0f;
            for (int k = 0; k < topK; k++) {
                int best = -1;
                for (int e = 0; e < experts; e++) {
                    if (!taken[e] && (best < 0 || p[e] > p[best])) best = e; // ties: lowest index
                }
                taken[best] = true;
                chosen[t][k] = best;
                chosenWeight[t][k] = p[best];
                chosenSum += p[best];
            }
            for (int k = 0; k < topK; k++) {
                chosenWeight[t][k] /= chosenSum;
                counts[chosen[t][k]]++;
            }
        }
        int[][] tokensByExpert = new int[experts][];
        float[][] weightsByExpert = new float[experts][];
        int[] fill = new int[experts];
        for (int e = 0; e < experts; e++) {
            tokensByExpert[e] = new int[counts[e]];
            weightsByExpert[e] = new float[counts[e]];
        }
        for (int t = 0; t < tokens; t++) {
            for (int k = 0; k < topK; k++) {
                int e = chosen[t][k];
                tokensByExpert[e][fill[e]] = t;
                weightsByExpert[e][fill[e]++] = chosenWeight[t][k];
            }
        }
        int[] active = java.util.stream.IntStream.range(0, experts).filter(e -> counts[e] > 0).toArray();
        return new Routing(tokensByExpert, weightsByExpert, active);
    }

    /** Experts with at least one token, ascending. */
    int[] activeExperts() {
        return active;
    }

    /** Tokens routed to expert e, ascending. */
    int[] tokensOf(int e) {
        return tokensByExpert[e];
    }

    /** Their renormalised weights, parallel to {@link #tokensOf}. */
    float[] weightsOf(int e) {
        return weightsByExpert[e];
    }

    @Override
    public String toString() {
        return "Routing" + Arrays.toString(active);
    }
}
