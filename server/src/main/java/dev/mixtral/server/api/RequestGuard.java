package dev.mixtral.server.api;

import com.sun.net.httpserver.HttpExchange;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Semaphore;

/**
 * Enforces {@link RequestLimits} on {@code /v1/*} requests as they reach the handler: how many are in
 * progress, the API key, and how much body is read. Each refusal is an {@link ApiException}.
 */
final class RequestGuard {
    private final RequestLimits limits;
    private final Semaphore inProgress;
    private final ApiKey apiKey;

    RequestGuard(RequestLimits limits, String apiKey) {
        this.limits = limits;
        this.inProgress = new Semaphore(limits.maxConcurrentRequests());
        this.apiKey = new ApiKey(apiKey);
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

    /** Checks {@code Authorization: Bearer <key>} (see {@link ApiKey}); 401 when it is missing or wrong. */
    void authorize(HttpExchange ex) {
        if (!apiKey.required()) return;
        String refusal = apiKey.refusal(ex.getRequestHeaders().getFirst("Authorization"));
        if (refusal != null) throw new ApiException(401, "invalid_request_error", null, refusal);
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
        } catch (IOException | RuntimeException e) {
            // The JDK's chunked-body decoder throws unchecked exceptions on some malformed chunk sizes.
            throw ApiException.badRequest(null, "could not read the request body: "
                    + (e.getMessage() != null ? e.getMessage() : "malformed (" + e.getClass().getSimpleName() + ")"));
        }
        if (body.length > limits.maxBodyBytes()) throw limits.bodyTooLarge(-1);
        requireUtf8(body);
        return body;
    }

    /**
     * JSON between systems must be UTF-8 (RFC 8259), and the JSON parser lets some ill-formed sequences
     * (overlong forms, encoded surrogates) through into strings; they are refused here instead.
     */
    static void requireUtf8(byte[] body) {
        CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(body);
        CharBuffer out = CharBuffer.allocate(8192);
        while (true) {
            CoderResult r = utf8.decode(in, out, true);
            if (r.isError()) throw ApiException.badRequest(null, "the request body is not valid UTF-8 (at byte " + in.position() + ")");
            if (r.isUnderflow()) return;
            out.clear();
        }
    }
}
