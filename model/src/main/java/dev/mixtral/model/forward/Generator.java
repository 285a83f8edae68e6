package dev.mixtral.model.forward;

import dev.mixtral.model.generate.CollectedTokens;
import dev.mixtral.model.generate.GenerationBatch;
import dev.mixtral.model.generate.GenerationRequest;
import dev.mixtral.model.generate.TokenSink;

import java.util.List;
import java.util.function.IntConsumer;

/**
 * One request at a time on the caller's thread, for the CLI, benchmarks and tests: generation runs
 * through {@link GenerationBatch}, the same loop and rules as the serving engine, and
 * {@link #score} gives teacher-forced logits.
 */
public final class Generator {
    private final Transformer transformer;
    private final KvCache.Type kvType;
    private final int prefillChunk;

    public Generator(Transformer transformer, KvCache.Type kvType, int prefillChunk) {
        this.transformer = transformer;
        this.kvType = kvType;
        this.prefillChunk = prefillChunk;
    }

    /** Runs the request to its end; the sink hears everything before this returns. */
    public void generate(GenerationRequest request, TokenSink sink) {
        GenerationBatch.run(transformer, kvType, prefillChunk, request, sink);
    }

    /**
     * Runs the request to its end and returns its tokens (never a stop token); {@code onToken} sees each as it
     * comes. A failed forward step is thrown.
     */
    public int[] generate(GenerationRequest request, IntConsumer onToken) {
        CollectedTokens out = new CollectedTokens(onToken);
        generate(request, out);
        out.reason();
        return out.tokens();
    }

    /** Exactly {@code maxTokens} tokens (no stop token), which must fit the context with the prompt. */
    public int[] generate(int[] prompt, int maxTokens, SamplingParams params) {
        return generate(new GenerationRequest(prompt, maxTokens, params), t -> {});
    }

    /** Teacher-forced scoring: logits after every position of {@code tokens} ({@code tokens.length × vocab}). */
    public float[] score(int[] tokens) {
        Sequence seq = new Sequence(new KvCache(transformer.config(), kvType));
        int vocab = transformer.config().vocab();
        float[] all = new float[tokens.length * vocab];
        for (int start = 0; start < tokens.length; start += prefillChunk) {
            int[] chunk = java.util.Arrays.copyOfRange(tokens, start, Math.min(tokens.length, start + prefillChunk));
            float[] logits = transformer.forward(List.of(new Transformer.Chunk(seq, chunk, true)))[0];
            System.arraycopy(logits, 0, all, start * vocab, logits.length);
        }
        return all;
    }
}
