package dev.mixtral.server.api;

import dev.mixtral.model.generate.GenerationRequest;
import dev.mixtral.model.generate.InvalidRequestException;
import dev.mixtral.model.generate.StopPolicy;
import dev.mixtral.server.engine.InferenceEngine;
import dev.mixtral.server.engine.OverloadedException;
import dev.mixtral.model.tokenizer.ChatTemplate;
import dev.mixtral.model.tokenizer.Tokenizer;

import java.util.function.Supplier;

/**
 * Turns a validated request into a running sequence: readiness, tokenization (chat template or plain
 * text), the stop policy, submission (where the engine checks it against the model and its limits). Shared by the HTTP and gRPC APIs so both answer alike.
 */
final class Completions {
    private final InferenceEngine engine;
    private final Tokenizer tokenizer;
    private final ServerMetrics metrics;
    private final Supplier<String> notReady;
    private final RequestLimits limits;

    /** A submitted request: its output stream, a handle to cancel it, and its prompt length. */
    record Started(GenerationStream stream, InferenceEngine.Handle handle, int promptTokens) {}

    Completions(InferenceEngine engine, Tokenizer tokenizer, ServerMetrics metrics, Supplier<String> notReady, RequestLimits limits) {
        this.limits = limits;
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
        limits.checkPrompt(prompt.length, req.chat() ? "messages" : "prompt");
        // A chat reply without max_tokens may fill the context (a prompt that fills it is refused on submit, naming it).
        int maxTokens = limits.maxTokens(req.maxTokens(), Math.max(1, context - prompt.length));
        StopPolicy stop = StopPolicy.endOfSequence(tokenizer.vocabulary().eos(), req.stop());
        // A chat reply starts a new text (its leading space is dropped); a completion continues the prompt's.
        GenerationStream stream = new GenerationStream(tokenizer.newDecoder(req.chat()), stop, metrics, startNanos);
        InferenceEngine.Handle handle;
        try {
            handle = engine.submit(new GenerationRequest(prompt, maxTokens, req.sampling(), stop), stream);
        } catch (OverloadedException e) {
            throw new ApiException(429, "rate_limit_exceeded", null, e.getMessage());
        } catch (InvalidRequestException e) {
            throw ApiException.badRequest(req.chat() && "prompt".equals(e.param()) ? "messages" : e.param(), e.getMessage());
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
        if (req.promptIds() != null) return req.promptIds();
        return tokenizer.encode(req.prompt(), true);
    }
}
