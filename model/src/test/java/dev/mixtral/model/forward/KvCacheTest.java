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
        for (int layer = 0; layer < CONFIG.layers(); layer++) {
            for (int off = 0; off < kvDim; off += head) {
                float[] out16 = new float[head], out32 = new float[head];
                for (int pos = 0; pos < positions; pos++) {
                    float s16 = f16.dotKey(layer, pos, off, q, 0, head), s32 = f32.dotKey(layer, pos, off, q, 0, head);
                    assertThat(Float.floatToRawIntBits(s16)).isEqualTo(Float.floatToRawIntBits(s32));
                    f16.addValue(layer, pos, off, 0.25f + pos, out16, 0, head);
                    f32.addValue(layer, pos, off, 0.25f + pos, out32, 0, head);
                }
                assertThat(out16).containsExactly(out32);
            }
        }
    }
}
