package dev.mixtral.server.api;

import dev.mixtral.model.generate.GenerationRequest;
import dev.mixtral.server.engine.InferenceEngine;
import dev.mixtral.server.engine.OverloadedException;
import dev.mixtral.model.tokenizer.ChatTemplate;
import dev.mixtral.model.tokenizer.Tokenizer;

import java.util.function.Supplier;

/**
 * Turns a validated request into a running sequence: readiness, tokenization (chat template or plain
 * text), context checks, submission. Shared by the HTTP and gRPC APIs so both answer alike.
 */
final class Completions {
    private final InferenceEngine engine;
    private final Tokenizer tokenizer;
    private final ServerMetrics metrics;
    private final Supplier<String> notReady;

    /** A submitted request: its output stream, a handle to cancel it, and its prompt length. */
    record Started(GenerationStream stream, InferenceEngine.Handle handle, int promptTokens) {}

    Completions(InferenceEngine engine, Tokenizer tokenizer, ServerMetrics metrics, Supplier<String> notReady) {
        this.engine = engine;
        this.tokenizer = tokenizer;
        this.metrics = metrics;
        this.notReady = notReady;
    }

    Started start(CompletionRequest req, long startNanos) {
        String why = notReady.get();
        if (why != null) throw new ApiException(503, "service_unavailable", null, "not ready: " + why);
        int[] prompt = promptIds(req);
        int context = engine.modelConfig().context();
        if (prompt.length >= context) {
            throw ApiException.badRequest(req.chat() ? "messages" : "prompt", "the prompt has " + prompt.length
                    + " tokens; the model's context is " + context + " tokens");
        }
        int maxTokens = req.maxTokens() != null ? req.maxTokens() : context - prompt.length;
        if (prompt.length + maxTokens > context) {
            throw ApiException.badRequest("max_tokens", "max_tokens (" + maxTokens + ") + the prompt (" + prompt.length
                    + " tokens) exceeds the model's context of " + context + " tokens");
        }
        // A chat reply starts a new text (its leading space is dropped); a completion continues the prompt's.
        GenerationStream stream = new GenerationStream(tokenizer.newDecoder(req.chat()), req.stop(), metrics, startNanos);
        InferenceEngine.Handle handle;
        try {
            handle = engine.submit(new GenerationRequest(prompt, maxTokens, req.sampling(), new int[]{tokenizer.vocabulary().eos()}), stream);
        } catch (OverloadedException e) {
            throw new ApiException(429, "rate_limit_exceeded", null, e.getMessage());
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest(null, e.getMessage());
        }
        metrics.promptTokens.inc(prompt.length);
        return new Started(stream, handle, prompt.length);
    }

    private int[] promptIds(CompletionRequest req) {
        if (req.chat()) {
            try {
                return ChatTemplate.encode(tokenizer, req.messages());
            } catch (IllegalArgumentException e) {
                throw ApiException.badRequest("messages", e.getMessage());
            }
        }
        if (req.promptIds() != null) {
            int vocab = engine.modelConfig().vocab();
            for (int t : req.promptIds()) {
                if (t < 0 || t >= vocab) throw ApiException.badRequest("prompt", "token id " + t + " is outside the vocabulary (0.." + (vocab - 1) + ")");
            }
            return req.promptIds();
        }
        return tokenizer.encode(req.prompt(), true);
    }
}
