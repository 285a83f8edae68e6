package dev.mixtral.model.forward;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntPredicate;

/**
 * Generates one sequence: prefills the prompt in chunks, then decodes token by token until a stop
 * condition. The serving scheduler batches many sequences through the same {@link Transformer}; this is
 * the plain loop the CLI uses.
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

    /**
     * @param onToken called with each new token; return false to stop (e.g. end of sequence)
     * @return the generated tokens (including a stop token if {@code onToken} rejected it)
     */
    public int[] generate(int[] prompt, int maxTokens, SamplingParams params, IntPredicate onToken) {
        if (prompt.length == 0) throw new IllegalArgumentException("the prompt has no tokens");
        int context = transformer.config().context();
        if (prompt.length >= context) {
            throw new IllegalArgumentException("prompt of " + prompt.length + " tokens does not fit the context length " + context);
        }
        Sequence seq = new Sequence(new KvCache(transformer.config(), kvType));
        Sampler sampler = new Sampler(params);
        float[] logits = null;
        for (int start = 0; start < prompt.length; start += prefillChunk) {
            int[] chunk = java.util.Arrays.copyOfRange(prompt, start, Math.min(prompt.length, start + prefillChunk));
            logits = transformer.forward(List.of(new Transformer.Chunk(seq, chunk, false)))[0];
        }
        List<Integer> out = new ArrayList<>();
        int limit = Math.min(maxTokens, context - prompt.length);
        while (out.size() < limit) {
            int token = sampler.next(logits);
            out.add(token);
            if (!onToken.test(token) || out.size() == limit) break;
            logits = transformer.forward(List.of(new Transformer.Chunk(seq, new int[]{token}, false)))[0];
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
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
