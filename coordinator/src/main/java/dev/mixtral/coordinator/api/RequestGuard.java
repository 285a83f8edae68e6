package dev.mixtral.coordinator.api;

import com.sun.net.httpserver.HttpExchange;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.concurrent.Semaphore;

/**
 * Enforces {@link RequestLimits} on {@code /v1/*} requests as they reach the handler: how many are in
 * progress, the API key, and how much body is read. Each refusal is an {@link ApiException}.
 */
final class RequestGuard {
    private final RequestLimits limits;
    private final Semaphore inProgress;
    /** SHA-256 of the accepted {@code Authorization} value, or null when no key is required. */
    private final byte[] expectedAuthorization;

    RequestGuard(RequestLimits limits, String apiKey) {
        this.limits = limits;
        this.inProgress = new Semaphore(limits.maxConcurrentRequests());
        this.expectedAuthorization = apiKey == null || apiKey.isEmpty() ? null : sha256("Bearer " + apiKey);
    }

    RequestLimits limits() {
        return limits;
    }

    /** A slot for one request, released by closing it; 429 when all are taken. */
    Permit enter() {
        if (!inProgress.tryAcquire()) throw limits.tooManyRequests();
        return inProgress::release;
    }

    interface Permit extends AutoCloseable {
        @Override
        void close();
    }

    /**
     * Checks {@code Authorization: Bearer <key>}. Both sides are hashed first and compared with
     * {@link MessageDigest#isEqual}, so the time taken says nothing about how much of a guess was right,
     * nor how long the key is.
     */
    void authorize(HttpExchange ex) {
        if (expectedAuthorization == null) return;
        String auth = ex.getRequestHeaders().getFirst("Authorization");
        if (auth == null || !MessageDigest.isEqual(sha256(auth), expectedAuthorization)) {
            throw new ApiException(401, "invalid_request_error", null,
                    auth == null ? "missing API key: send 'Authorization: Bearer <key>'" : "incorrect API key");
        }
    }

    /**
     * The whole request body, refused with 413 when it is over the limit: at once when its
     * {@code Content-Length} says so, else as soon as one byte too many has arrived.
     */
    byte[] readBody(HttpExchange ex) {
        String declared = ex.getRequestHeaders().getFirst("Content-Length");
        if (declared != null) {
            try {
                long length = Long.parseLong(declared.strip());
                if (length > limits.maxBodyBytes()) throw limits.bodyTooLarge(length);
            } catch (NumberFormatException e) {
                // the JDK server has already refused an unreadable Content-Length; nothing to add here
            }
        }
        byte[] body;
        try (InputStream in = ex.getRequestBody()) {
            body = in.readNBytes(limits.maxBodyBytes() + 1);
        } catch (IOException e) {
            throw ApiException.badRequest(null, "could not read the request body: " + e.getMessage());
        }
        if (body.length > limits.maxBodyBytes()) throw limits.bodyTooLarge(-1);
        return body;
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
