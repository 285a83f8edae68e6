package dev.mixtral.model.generate;

import dev.mixtral.model.forward.SamplingParams;

/**
 * One sequence to generate: prompt token ids (BOS included), at most {@code maxTokens} new tokens,
 * how to sample them, and token ids that end the sequence without being emitted (EOS).
 */
public record GenerationRequest(int[] prompt, int maxTokens, SamplingParams sampling, int[] stopTokens) {
    public GenerationRequest {
        if (prompt.length == 0) throw new IllegalArgumentException("the prompt has no tokens");
        if (maxTokens < 1) throw new IllegalArgumentException("max_tokens must be >= 1, got " + maxTokens);
    }

    public boolean isStopToken(int token) {
        for (int t : stopTokens) if (t == token) return true;
        return false;
    }
}
