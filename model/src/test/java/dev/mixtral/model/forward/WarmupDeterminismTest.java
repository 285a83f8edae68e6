package dev.mixtral.model.forward;

import dev.mixtral.model.SharedData;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The first (interpreted) run and later (JIT-compiled) runs of the same input give the same bits. */
class WarmupDeterminismTest {
    @Test
    void coldAndWarmRunsAgreeBitForBit() {
        Transformer t = GoldenOutputTest.load(SharedData.golden().resolve("tiny/mixtral-tiny-F32.gguf"));
        int[] tokens = {1, 518, 25580, 29962, 12027, 7420, 29544, 310, 2902, 1372, 29889, 518, 29914, 25580, 29962};
        float[] cold = new Generator(t, KvCache.Type.F32, 4).score(tokens);
        for (int i = 0; i < 40; i++) {
            float[] warm = new Generator(t, KvCache.Type.F32, 4).score(tokens);
            assertThat(firstDifference(cold, warm)).as("first differing logit in run %d", i).isEqualTo(-1);
        }
    }

    /** Index of the first element that differs in bits, or -1 (AssertJ's array diff is too slow for 10^5 elements). */
    static int firstDifference(float[] a, float[] b) {
        if (a.length != b.length) return Math.min(a.length, b.length);
        for (int i = 0; i < a.length; i++) {
            if (Float.floatToIntBits(a[i]) != Float.floatToIntBits(b[i])) return i;
        }
        return -1;
    }
}
