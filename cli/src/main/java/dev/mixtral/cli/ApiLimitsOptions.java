package dev.mixtral.cli;

import dev.mixtral.server.api.RequestLimits;
import picocli.CommandLine.Option;

import java.time.Duration;

/** The limits of the public HTTP API ({@link RequestLimits}); each flag falls back to an environment variable. */
final class ApiLimitsOptions {
    @Option(names = "--max-body-bytes", defaultValue = "${env:MIXTRAL_MAX_BODY_BYTES:-8388608}", paramLabel = "BYTES",
            description = "Largest request body; larger ones get 413 (env MIXTRAL_MAX_BODY_BYTES). Default: ${DEFAULT-VALUE}.")
    int maxBodyBytes;
    @Option(names = "--max-prompt-tokens", defaultValue = "${env:MIXTRAL_MAX_PROMPT_TOKENS:-0}", paramLabel = "N",
            description = "Longest prompt in tokens; longer ones get 400 (env MIXTRAL_MAX_PROMPT_TOKENS). Default: 0, the model's context.")
    int maxPromptTokens;
    @Option(names = "--max-tokens-limit", defaultValue = "${env:MIXTRAL_MAX_TOKENS_LIMIT:-0}", paramLabel = "N",
            description = "Largest max_tokens a request may ask for (400 above), and the default when it asks for none "
                    + "(env MIXTRAL_MAX_TOKENS_LIMIT). Default: 0, the model's context.")
    int maxTokens;
    @Option(names = "--max-concurrent-requests", defaultValue = "${env:MIXTRAL_MAX_CONCURRENT_REQUESTS:-1024}", paramLabel = "N",
            description = "/v1 requests in progress at once, streams included; more get 429 (env MIXTRAL_MAX_CONCURRENT_REQUESTS). Default: ${DEFAULT-VALUE}.")
    int maxConcurrentRequests;
    @Option(names = "--max-connections", defaultValue = "${env:MIXTRAL_MAX_CONNECTIONS:-4096}", paramLabel = "N",
            description = "Open HTTP connections; more are closed as they arrive (env MIXTRAL_MAX_CONNECTIONS). Default: ${DEFAULT-VALUE}.")
    int maxConnections;
    @Option(names = "--idle-timeout", defaultValue = "${env:MIXTRAL_IDLE_TIMEOUT:-30s}", converter = Durations.class, paramLabel = "DURATION",
            description = "Close a connection that has sent nothing, or kept alive with no request, for this long (env MIXTRAL_IDLE_TIMEOUT). Default: ${DEFAULT-VALUE}.")
    Duration idleTimeout;
    @Option(names = "--request-read-timeout", defaultValue = "${env:MIXTRAL_REQUEST_READ_TIMEOUT:-30s}", converter = Durations.class, paramLabel = "DURATION",
            description = "Close a connection whose request headers and body have not all arrived this long after its first byte "
                    + "(env MIXTRAL_REQUEST_READ_TIMEOUT). Default: ${DEFAULT-VALUE}.")
    Duration requestReadTimeout;
    @Option(names = "--max-header-bytes", defaultValue = "${env:MIXTRAL_MAX_HEADER_BYTES:-65536}", paramLabel = "BYTES",
            description = "Total size of a request's headers (env MIXTRAL_MAX_HEADER_BYTES). Default: ${DEFAULT-VALUE}.")
    int maxHeaderBytes;

    RequestLimits limits() {
        try {
            return new RequestLimits(maxBodyBytes, maxPromptTokens, maxTokens, maxConcurrentRequests, maxConnections,
                    idleTimeout, requestReadTimeout, maxHeaderBytes);
        } catch (IllegalArgumentException e) {
            throw new UserException(e.getMessage());
        }
    }
}
