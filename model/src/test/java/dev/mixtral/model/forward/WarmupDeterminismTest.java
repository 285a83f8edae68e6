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
            assertThat(warm).as("run %d", i).containsExactly(cold);
        }
    }
}
