package dev.mixtral.model.forward;

import dev.mixtral.model.ModelConfig;
import dev.mixtral.model.kernel.VectorMath;
import dev.mixtral.model.tensor.HalfFloats;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class KvCacheTest {
    /** Head dim 36: four full 8-lane groups and a tail of 4, so both paths of the widening run. */
    static final ModelConfig CONFIG = new ModelConfig("test", 144, 2, 4, 2, 36, 64, 8, 2, 100, 64, 1e4f, 1e-5f,
            ModelConfig.RopeLayout.ADJACENT_PAIRS);

    @Test
    void widenF16IsExactForEveryBitPattern() {
        short[] all = new short[1 << 16];
        for (int i = 0; i < all.length; i++) all[i] = (short) i;
        float[] wide = new float[all.length + 3];
        VectorMath.widenF16(all, 0, wide, 3, all.length);
        for (int i = 0; i < all.length; i++) {
            float want = Float.float16ToFloat(all[i]);
            if (Float.isNaN(want)) assertThat(wide[3 + i]).as("bits %04x", i).isNaN();
            else assertThat(Float.floatToRawIntBits(wide[3 + i])).as("bits %04x", i).isEqualTo(Float.floatToRawIntBits(want));
        }
    }

    /**
     * The F16 cache computes exactly what the F32 cache computes on the same keys and values rounded to
     * f16: the rounding is its only difference.
     */
    @Test
    void f16CacheEqualsF32CacheOnRoundedValues() {
        Random rnd = new Random(3);
        int kvDim = CONFIG.kvDim(), head = CONFIG.headDim(), positions = 9;
        KvCache f16 = new KvCache(CONFIG, KvCache.Type.F16), f32 = new KvCache(CONFIG, KvCache.Type.F32);
        f16.ensureCapacity(positions);
        f32.ensureCapacity(positions);
        for (int layer = 0; layer < CONFIG.layers(); layer++) {
            for (int pos = 0; pos < positions; pos++) {
                float[] k = new float[kvDim], v = new float[kvDim], kr = new float[kvDim], vr = new float[kvDim];
                for (int i = 0; i < kvDim; i++) {
                    k[i] = (float) rnd.nextGaussian() * (i % 7 == 0 ? 1e-6f : 3f); // some f16 subnormals
                    v[i] = (float) rnd.nextGaussian();
                    kr[i] = HalfFloats.roundToF16(k[i]);
                    vr[i] = HalfFloats.roundToF16(v[i]);
                }
                f16.store(layer, pos, k, 0, v, 0);
                f32.store(layer, pos, kr, 0, vr, 0);
            }
        }
        float[] q = new float[head];
        for (int i = 0; i < head; i++) q[i] = (float) rnd.nextGaussian();
        float[][] p = {new float[positions]};
        for (int pos = 0; pos < positions; pos++) p[0][pos] = 0.25f + pos;
        for (int layer = 0; layer < CONFIG.layers(); layer++) {
            for (int off = 0; off < kvDim; off += head) {
                float[][] s16 = new float[1][16], s32 = new float[1][16];
                f16.scores(layer, positions, off, q, 0, 1, head, 0.3f, s16);
                f32.scores(layer, positions, off, q, 0, 1, head, 0.3f, s32);
                for (int pos = 0; pos < positions; pos++) {
                    assertThat(Float.floatToRawIntBits(s16[0][pos])).isEqualTo(Float.floatToRawIntBits(s32[0][pos]));
                }
                float[] out16 = new float[head], out32 = new float[head];
                f16.addValues(layer, positions, off, p, 1, out16, 0, head);
                f32.addValues(layer, positions, off, p, 1, out32, 0, head);
                assertThat(out16).containsExactly(out32);
            }
        }
    }

    /** Head dim 44: the value sum's 32-component, 8-component and scalar paths all run; 2 query heads share a KV head. */
    static final ModelConfig ODD = new ModelConfig("test", 88, 1, 2, 1, 44, 64, 8, 2, 100, 128, 1e4f, 1e-5f,
            ModelConfig.RopeLayout.ADJACENT_PAIRS);

    /**
     * Scores follow the documented order bit for bit: per position, 4 fma chains over the components by their
     * index mod 4 (the tail continuing chain 0), then ((a0 + a1) + (a2 + a3)) · scale; over 13 positions (a
     * partial last tile) for each query head of the group.
     */
    @Test
    void scoresFollowTheDocumentedOrder() {
        Random rnd = new Random(5);
        int len = 13, head = ODD.headDim();
        KvCache cache = filled(ODD, len, rnd);
        float[] q = gaussians(rnd, 2 * head);
        float[][] scores = new float[2][16];
        cache.scores(0, len, 0, q, 0, 2, head, 0.125f, scores);
        for (int i = 0; i < 2; i++) {
            for (int pos = 0; pos < len; pos++) {
                float[] a = new float[4];
                int d = 0;
                for (; d + 4 <= head; d += 4) {
                    for (int m = 0; m < 4; m++) a[m] = Math.fma(keys[pos][d + m], q[i * head + d + m], a[m]);
                }
                for (; d < head; d++) a[0] = Math.fma(keys[pos][d], q[i * head + d], a[0]);
                float want = ((a[0] + a[1]) + (a[2] + a[3])) * 0.125f;
                assertThat(Float.floatToRawIntBits(scores[i][pos])).as("head %d position %d", i, pos)
                        .isEqualTo(Float.floatToRawIntBits(want));
            }
        }
    }

    /**
     * The weighted sum of values is one fma per position, positions in order, for every component — across the
     * 64-position blocks the sum is cut into (70 positions) and whatever path a component takes.
     */
    @Test
    void valueSumIsOneFmaPerPositionInOrder() {
        Random rnd = new Random(6);
        int len = 70, head = ODD.headDim();
        KvCache cache = filled(ODD, len, rnd);
        float[][] p = {gaussians(rnd, len), gaussians(rnd, len)};
        float[] out = gaussians(rnd, 2 * head), start = out.clone();
        cache.addValues(0, len, 0, p, 2, out, 0, head);
        for (int i = 0; i < 2; i++) {
            for (int d = 0; d < head; d++) {
                float want = start[i * head + d];
                for (int pos = 0; pos < len; pos++) want = Math.fma(p[i][pos], values[pos][d], want);
                assertThat(Float.floatToRawIntBits(out[i * head + d])).as("head %d component %d", i, d)
                        .isEqualTo(Float.floatToRawIntBits(want));
            }
        }
    }

    private float[][] keys, values;

    /** An F32 cache of one layer with {@code len} random positions, remembered in {@link #keys} and {@link #values}. */
    private KvCache filled(ModelConfig config, int len, Random rnd) {
        KvCache cache = new KvCache(config, KvCache.Type.F32);
        cache.ensureCapacity(len);
        keys = new float[len][];
        values = new float[len][];
        for (int pos = 0; pos < len; pos++) {
            keys[pos] = gaussians(rnd, config.kvDim());
            values[pos] = gaussians(rnd, config.kvDim());
            cache.store(0, pos, keys[pos], 0, values[pos], 0);
        }
        return cache;
    }

    private static float[] gaussians(Random rnd, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) rnd.nextGaussian();
        return a;
    }
}
