package dev.mixtral.model.generate;

import dev.mixtral.model.forward.KvCache;
import dev.mixtral.model.forward.SamplingParams;
import dev.mixtral.model.forward.Transformer;

import java.util.List;

/** Speed of the generation loop, for the benchmarks: they time the same loop that serves requests. */
public final class LoopTiming {
    private LoopTiming() {}

    /** Prompt tokens per second of prefilling {@code prompt} ({@code prefillChunk} tokens per step) and sampling its first token. */
    public static double prefillTokensPerSecond(Transformer t, KvCache.Type kvType, int prefillChunk, int[] prompt) {
        long t0 = System.nanoTime();
        GenerationBatch.run(t, kvType, prefillChunk, new GenerationRequest(prompt, 1, SamplingParams.GREEDY), new CollectedTokens());
        return prompt.length / ((System.nanoTime() - t0) / 1e9);
    }

    /**
     * Tokens per second of {@code steps} greedy decode steps of one sequence per prompt, stepping together;
     * the prompts are prefilled, untimed, first.
     */
    public static double decodeTokensPerSecond(Transformer t, KvCache.Type kvType, int prefillChunk, List<int[]> prompts, int steps) {
        int[] started = {0};
        GenerationBatch batch = new GenerationBatch(t, kvType, prefillChunk, r -> {});
        for (int[] prompt : prompts) {
            batch.add(new GenerationRequest(prompt, steps + 1, SamplingParams.GREEDY), new TokenSink() {
                private boolean first = true;

                @Override
                public boolean onToken(int token) {
                    if (first) started[0]++;
                    first = false;
                    return true;
                }

                @Override
                public void onFinish(FinishReason reason) {}

                @Override
                public void onError(Exception error) {
                    throw new IllegalStateException("a benchmark step failed: " + error.getMessage(), error);
                }
            });
        }
        while (started[0] < prompts.size()) batch.step(); // each has its first token: prompts prefilled
        long t0 = System.nanoTime();
        for (int i = 0; i < steps; i++) batch.step();
        return (double) prompts.size() * steps / ((System.nanoTime() - t0) / 1e9);
    }
}
