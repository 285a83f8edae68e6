package dev.mixtral.model.forward;

import dev.mixtral.model.kernel.VectorMath;

/**
 * Attention of one token for the group of query heads that share one KV head (grouped-query attention):
 * scores, softmax and the weighted sum of values, reading each cached key and value once for the whole
 * group (a tile of keys, a block of values at a time) rather than once per query head. Each head's
 * arithmetic is the same either way; at long contexts the cache no longer fits in cache memory and this reads a quarter of the bytes
 * (Mixtral: 4 query heads per KV head).
 */
public final class GroupAttention {
    private GroupAttention() {}

    /**
     * For query heads {@code i < group} at {@code q[qOff + i·headDim ..]}, over positions {@code [0, len)}
     * of the KV head at component {@code kvOff} of {@code cache}'s layer: adds
     * {@code Σ_j softmax(scale · q_i·k_j)_j · v_j} to {@code att[qOff + i·headDim ..]} (which the caller
     * zeroed). {@code scores} is scratch of at least {@code group} rows of {@code len} rounded up to whole key
     * tiles ({@link KvCache#TILE}); it is grown when short.
     */
    public static float[][] attend(KvCache cache, int layer, int len, int kvOff, float[] q, int qOff, int group, int headDim,
                                   float scale, float[] att, float[][] scores) {
        int room = (len + KvCache.TILE - 1) / KvCache.TILE * KvCache.TILE; // scores come a whole key tile at a time
        if (scores.length < group || scores[0].length < room) {
            int n = Math.max(room, scores.length > 0 ? scores[0].length * 2 : 0);
            scores = new float[Math.max(group, scores.length)][n];
        }
        cache.scores(layer, len, kvOff, q, qOff, group, headDim, scale, scores);
        for (int i = 0; i < group; i++) {
            float[] s = scores[i];
            float max = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < len; j++) if (s[j] > max) max = s[j];
            float inv = 1f / VectorMath.expShiftedSum(s, len, max);
            for (int j = 0; j < len; j++) s[j] *= inv;
        }
        cache.addValues(layer, len, kvOff, scores, group, att, qOff, headDim);
        return scores;
    }
}
