package dev.mixtral.model.forward;

/**
 * Attention of one token for the group of query heads that share one KV head (grouped-query attention):
 * scores, softmax and the weighted sum of values, reading each cached key and value once for the whole
 * group (position by position) rather than once per query head. Each head's arithmetic is the same either
 * way; at long contexts the cache no longer fits in cache memory and this reads a quarter of the bytes
 * (Mixtral: 4 query heads per KV head).
 */
public final class GroupAttention {
    private GroupAttention() {}

    /**
     * For query heads {@code i < group} at {@code q[qOff + i·headDim ..]}, over positions {@code [0, len)}
     * of the KV head at component {@code kvOff} of {@code cache}'s layer: adds
     * {@code Σ_j softmax(scale · q_i·k_j)_j · v_j} to {@code att[qOff + i·headDim ..]} (which the caller
     * zeroed). {@code scores} is scratch of at least {@code group × len}; it is grown when short.
     */
    public static float[][] attend(KvCache cache, int layer, int len, int kvOff, float[] q, int qOff, int group, int headDim,
                                   float scale, float[] att, float[][] scores) {
        if (scores.length < group || scores[0].length < len) {
            int n = Math.max(len, scores.length > 0 ? scores[0].length * 2 : 0);
            scores = new float[group][n];
        }
        for (int j = 0; j < len; j++) {
            for (int i = 0; i < group; i++) scores[i][j] = cache.dotKey(layer, j, kvOff, q, qOff + i * headDim, headDim) * scale;
        }
        for (int i = 0; i < group; i++) {
            float[] s = scores[i];
            float max = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < len; j++) if (s[j] > max) max = s[j];
            float sum = 0f;
            for (int j = 0; j < len; j++) {
                float e = (float) Math.exp(s[j] - max);
                s[j] = e;
                sum += e;
            }
            float inv = 1f / sum;
            for (int j = 0; j < len; j++) s[j] *= inv;
        }
        for (int j = 0; j < len; j++) {
            for (int i = 0; i < group; i++) cache.addValue(layer, j, kvOff, scores[i][j], att, qOff + i * headDim, headDim);
        }
        return scores;
    }
}
