package dev.mixtral.model.generate;

import dev.mixtral.model.ModelConfig;
import dev.mixtral.model.forward.SamplingParams;

/**
 * One sequence to generate: prompt token ids (BOS included), at most {@code maxTokens} new tokens,
 * how to sample them, and when to stop early.
 */
public record GenerationRequest(int[] prompt, int maxTokens, SamplingParams sampling, StopPolicy stop) {
    public GenerationRequest {
        if (prompt.length == 0) throw new InvalidRequestException("prompt", "the prompt has no tokens");
        if (maxTokens < 1) throw new InvalidRequestException("max_tokens", "max_tokens must be >= 1, got " + maxTokens);
    }

    /** A request that runs to {@code maxTokens} unless the caller's sink ends it. */
    public GenerationRequest(int[] prompt, int maxTokens, SamplingParams sampling) {
        this(prompt, maxTokens, sampling, StopPolicy.NONE);
    }

    /** KV cache positions the sequence may fill: its prompt and every token it may generate. */
    public int positions() {
        return prompt.length + maxTokens;
    }

    /**
     * The one check of a request against the model, for every caller (API, CLI, benchmarks, tests): the
     * prompt's tokens are in the vocabulary and the prompt plus {@code max_tokens} fit the context. A
     * request that does not fit is refused naming the limit, never silently shortened.
     */
    public void checkFits(ModelConfig model) {
        int context = model.context();
        for (int t : prompt) {
            if (t < 0 || t >= model.vocab()) {
                throw new InvalidRequestException("prompt", "token id " + t + " is outside the vocabulary (0.." + (model.vocab() - 1) + ")");
            }
        }
        if (prompt.length >= context) {
            throw new InvalidRequestException("prompt", "the prompt has " + prompt.length + " tokens; the model's context is " + context + " tokens");
        }
        if (maxTokens > context - prompt.length) { // not positions() > context: that sum overflows for max_tokens near 2^31
            throw new InvalidRequestException("max_tokens", "max_tokens (" + maxTokens + ") + the prompt (" + prompt.length
                    + " tokens) exceeds the model's context of " + context + " tokens: max_tokens can be at most " + (context - prompt.length));
        }
    }
}
