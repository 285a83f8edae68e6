package dev.mixtral.server.api;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * A request body as the API reads it (UTF-8 check, strict JSON, then the OpenAI fields) on arbitrary
 * bytes: an {@link ApiException}, which the server answers as a 4xx with its message, or a valid
 * request. Anything else thrown would have been a 500.
 */
class CompletionRequestFuzzTest {
    @FuzzTest(maxDuration = "3s")
    void requestBody(byte[] data) {
        boolean chat = data.length > 0 && (data[0] & 1) == 1;
        try {
            RequestGuard.requireUtf8(data);
            CompletionRequest req = CompletionRequest.parse(ApiServer.readJson(data), chat);
            if (req.chat() != chat) throw new AssertionError("parsed as the wrong endpoint");
            req.sampling();
        } catch (ApiException refused) {
            if (refused.status() < 400 || refused.status() >= 500 || refused.getMessage() == null || refused.getMessage().isBlank()) {
                throw new AssertionError("not a 4xx with a message: " + refused.status() + " " + refused.getMessage(), refused);
            }
        }
    }
}
