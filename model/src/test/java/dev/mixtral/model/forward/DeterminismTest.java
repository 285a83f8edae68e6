package dev.mixtral.model.forward;

import dev.mixtral.model.TestData;
import dev.mixtral.model.kernel.Parallel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Same input, same bits: whatever the thread count, the batch a token is in, or prefill vs decode. */
class DeterminismTest {
    static final int[] PROMPT_A = {1, 9038, 2501, 263, 931};
    static final int[] PROMPT_B = {1, 450, 7483, 310, 3444, 338, 29871, 13, 13};

    @AfterEach
    void restoreThreads() {
        Parallel.setThreads(Runtime.getRuntime().availableProcessors());
    }

    private static Transformer model() {
        return GoldenOutputTest.load(TestData.golden().resolve("tiny/mixtral-tiny-Q4_0.gguf"));
    }

    @Test
    void oneThreadAndManyThreadsGiveIdenticalLogits() {
        Parallel.setThreads(1);
        float[] one = new Generator(model(), KvCache.Type.F32, 3).score(PROMPT_B);
        Parallel.setThreads(4);
        float[] four = new Generator(model(), KvCache.Type.F32, 3).score(PROMPT_B);
        assertThat(four).containsExactly(one);
    }

    @Test
    void batchingSequencesTogetherChangesNothing() {
        Transformer t = model();
        Sequence a = new Sequence(new KvCache(t.config(), KvCache.Type.F32));
        Sequence b = new Sequence(new KvCache(t.config(), KvCache.Type.F32));
        float[][] together = t.forward(List.of(new Transformer.Chunk(a, PROMPT_A, true), new Transformer.Chunk(b, PROMPT_B, true)));
        float[] aloneA = new Generator(t, KvCache.Type.F32, 512).score(PROMPT_A);
        float[] aloneB = new Generator(t, KvCache.Type.F32, 512).score(PROMPT_B);
        assertThat(together[0]).containsExactly(aloneA);
        assertThat(together[1]).containsExactly(aloneB);
    }

    @Test
    void prefillInOneStepEqualsTokenByToken() {
        Transformer t = model();
        float[] prefill = new Generator(t, KvCache.Type.F32, 512).score(PROMPT_B);
        float[] stepwise = new Generator(t, KvCache.Type.F32, 1).score(PROMPT_B);
        assertThat(stepwise).containsExactly(prefill);
    }

    @Test
    void f16KvCacheStaysCloseToF32() {
        Transformer t = model();
        float[] f32 = new Generator(t, KvCache.Type.F32, 512).score(PROMPT_B);
        float[] f16 = new Generator(t, KvCache.Type.F16, 512).score(PROMPT_B);
        double worst = 0;
        for (int i = 0; i < f32.length; i++) worst = Math.max(worst, Math.abs(f32[i] - f16[i]));
        System.out.printf("f16 KV cache: max |logit - f32 cache logit| = %.2e%n", worst);
        assertThat(worst).isGreaterThan(0).isLessThan(0.05);
    }
}
