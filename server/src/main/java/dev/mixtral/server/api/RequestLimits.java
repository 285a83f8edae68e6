package dev.mixtral.server.api;

import java.time.Duration;

/**
 * What one client may ask of a public HTTP API, and how long a connection may sit doing nothing
 * useful. Every check answers in OpenAI's error shape with a message naming the limit and the
 * server option that sets it, so a client knows what to change and an operator what to raise.
 *
 * @param maxBodyBytes          largest request body read (413 above)
 * @param maxPromptTokens       longest prompt after tokenization; 0: the model's context (400 above)
 * @param maxTokens             largest {@code max_tokens} a request may ask for, and the default when it
 *                              asks for none; 0: the model's context (400 above)
 * @param maxConcurrentRequests {@code /v1/*} requests in progress at once, streams included (429 above)
 * @param maxConnections        open TCP connections; more are closed on accept, without reading them
 * @param idleTimeout           a kept-alive connection with no request, or a new one that has sent
 *                              nothing, is closed after this
 * @param requestReadTimeout    from a request's first byte until its body is read: slow headers and
 *                              slow bodies ("slowloris") are cut off after this
 * @param maxHeaderBytes        total size of a request's header lines
 */
public record RequestLimits(int maxBodyBytes, int maxPromptTokens, int maxTokens, int maxConcurrentRequests,
                            int maxConnections, Duration idleTimeout, Duration requestReadTimeout, int maxHeaderBytes) {

    public static final RequestLimits DEFAULTS = new RequestLimits(8 << 20, 0, 0, 1024,
            4096, Duration.ofSeconds(30), Duration.ofSeconds(30), 64 << 10);

    public RequestLimits {
        positive(maxBodyBytes, "max body bytes");
        if (maxPromptTokens < 0) throw new IllegalArgumentException("max prompt tokens must be >= 0 (0: the model's context), got " + maxPromptTokens);
        if (maxTokens < 0) throw new IllegalArgumentException("max tokens must be >= 0 (0: the model's context), got " + maxTokens);
        positive(maxConcurrentRequests, "max concurrent requests");
        positive(maxConnections, "max connections");
        positive(maxHeaderBytes, "max header bytes");
        // The JDK server counts these in whole seconds.
        if (idleTimeout.toSeconds() < 1) throw new IllegalArgumentException("the idle timeout must be at least 1 s, got " + idleTimeout);
        if (requestReadTimeout.toSeconds() < 1) throw new IllegalArgumentException("the request read timeout must be at least 1 s, got " + requestReadTimeout);
    }

    /** Refuses a body whose declared or actual size is over the limit. */
    ApiException bodyTooLarge(long bytes) {
        return new ApiException(413, "invalid_request_error", null, "the request body" + (bytes > 0 ? " (" + bytes + " bytes)" : "")
                + " is larger than this server's limit of " + maxBodyBytes + " bytes (--max-body-bytes)");
    }

    /** Refuses a prompt longer than the limit; the model's context is checked separately. */
    void checkPrompt(int tokens, String param) {
        if (maxPromptTokens > 0 && tokens > maxPromptTokens) {
            throw ApiException.badRequest(param, "the prompt has " + tokens + " tokens; this server's limit is "
                    + maxPromptTokens + " prompt tokens (--max-prompt-tokens)");
        }
    }

    /** The {@code max_tokens} to run with: the request's own, checked against the limit, else the limit. */
    int maxTokens(Integer requested, int room) {
        if (requested != null) {
            if (maxTokens > 0 && requested > maxTokens) {
                throw ApiException.badRequest("max_tokens", "max_tokens (" + requested + ") is larger than this server's limit of "
                        + maxTokens + " (--max-tokens-limit)");
            }
            return requested;
        }
        return maxTokens > 0 ? Math.min(maxTokens, room) : room;
    }

    ApiException tooManyRequests() {
        return new ApiException(429, "rate_limit_exceeded", null, "too many requests in progress: this server's limit is "
                + maxConcurrentRequests + " concurrent requests (--max-concurrent-requests); retry later");
    }

    private static void positive(long value, String what) {
        if (value <= 0) throw new IllegalArgumentException(what + " must be positive, got " + value);
    }
}
