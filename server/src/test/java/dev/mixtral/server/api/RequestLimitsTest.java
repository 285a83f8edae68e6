package dev.mixtral.server.api;

import dev.mixtral.model.MixtralModel;
import dev.mixtral.server.engine.EngineConfig;
import dev.mixtral.server.engine.InferenceEngine;
import dev.mixtral.model.forward.KvCache;
import dev.mixtral.model.forward.LocalExperts;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import static dev.mixtral.server.api.ApiServerTest.expectError;
import static org.assertj.core.api.Assertions.assertThat;

/** Each request limit of {@link RequestLimits}, hit over real HTTP: a 4xx in OpenAI's shape naming the limit. */
class RequestLimitsTest {
    static final RequestLimits LIMITS = new RequestLimits(1024, 12, 5, 1, 4096, Duration.ofSeconds(30), Duration.ofSeconds(30), 64 << 10);
    static MixtralModel model;
    static InferenceEngine engine;
    static ApiServer server;
    static final HttpClient http = HttpClient.newHttpClient();
    static String base;

    @BeforeAll
    static void start() throws Exception {
        model = MixtralModel.open(TinyModelFile.path(), LocalExperts::loadAll);
        engine = new InferenceEngine(model.transformer(), new EngineConfig(4, 16, 1L << 28, 64, KvCache.Type.F32));
        server = new ApiServer(engine, model.tokenizer(), new ServerMetrics(),
                new ApiServer.Options("127.0.0.1", 0, "tiny", "the-key", () -> null), LIMITS).start();
        base = "http://127.0.0.1:" + server.port();
    }

    @AfterAll
    static void stop() {
        server.close();
        engine.close();
        model.close();
    }

    static HttpResponse<String> post(String path, String body, String key) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(base + path)).header("Content-Type", "application/json")
                .header("Authorization", "Bearer " + key).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void aRequestWithinEveryLimitIsServed() throws Exception {
        HttpResponse<String> r = post("/v1/completions", "{\"prompt\":\"Once upon\",\"max_tokens\":5,\"temperature\":0}", "the-key");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(ApiServerTest.JSON.readTree(r.body()).at("/usage/completion_tokens").asInt()).isEqualTo(5);
    }

    @Test
    void aBodyOverTheLimitIs413() throws Exception {
        String big = "{\"prompt\":\"" + "a".repeat(2000) + "\"}";
        expectError(post("/v1/completions", big, "the-key"), 413, "larger than this server's limit of 1024 bytes (--max-body-bytes)");
    }

    @Test
    void aChunkedBodyOverTheLimitIs413WithoutAContentLength() throws Exception {
        // ofInputStream has no known length, so the client sends it chunked
        byte[] big = ("{\"prompt\":\"" + "a".repeat(5000) + "\"}").getBytes(StandardCharsets.UTF_8);
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/completions")).header("Authorization", "Bearer the-key")
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(big))).build(), HttpResponse.BodyHandlers.ofString());
        expectError(r, 413, "--max-body-bytes");
    }

    @Test
    void aPromptOverTheTokenLimitIs400() throws Exception {
        expectError(post("/v1/completions", "{\"prompt\":\"" + "word ".repeat(40) + "\",\"max_tokens\":1}", "the-key"), 400,
                "this server's limit is 12 prompt tokens (--max-prompt-tokens)");
        expectError(post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"" + "word ".repeat(40) + "\"}],\"max_tokens\":1}", "the-key"), 400,
                "(--max-prompt-tokens)");
    }

    @Test
    void maxTokensOverTheLimitIs400AndNoneAsksForTheLimit() throws Exception {
        expectError(post("/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":6}", "the-key"), 400,
                "max_tokens (6) is larger than this server's limit of 5 (--max-tokens-limit)");
        HttpResponse<String> chat = post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"temperature\":0}", "the-key");
        assertThat(chat.statusCode()).as(chat.body()).isEqualTo(200);
        assertThat(ApiServerTest.JSON.readTree(chat.body()).at("/usage/completion_tokens").asInt()).isBetween(1, 5);
    }

    @Test
    void apiKeysAreComparedWhole() throws Exception {
        expectError(post("/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":1}", "the-ke"), 401, "incorrect API key");
        expectError(post("/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":1}", "the-key-and-more"), 401, "incorrect API key");
        expectError(post("/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":1}", "THE-KEY"), 401, "incorrect API key");
        assertThat(post("/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":1}", "the-key").statusCode()).isEqualTo(200);
    }

    /** On one kept-alive connection to Jetty, a key differing only in case after the right one is still refused. */
    @Test
    void onJettyAKeyDifferingInCaseIsRefusedAfterTheRightOneOnTheSameConnection() throws Exception {
        try (ApiServer jetty = new ApiServer(engine, model.tokenizer(), new ServerMetrics(),
                new ApiServer.Options("127.0.0.1", 0, "tiny", "the-key", () -> null), LIMITS, dev.mixtral.cluster.tls.ApiTls.OFF,
                HttpServerKind.JETTY).start()) {
            HttpClient one = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build(); // one pooled connection, reused
            for (String key : new String[]{"the-key", "THE-KEY", "the-key", "The-Key"}) {
                HttpResponse<String> r = one.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + jetty.port() + "/v1/models"))
                        .header("Authorization", "Bearer " + key).build(), HttpResponse.BodyHandlers.ofString());
                assertThat(r.statusCode()).as(key + ": " + r.body()).isEqualTo(key.equals("the-key") ? 200 : 401);
            }
        }
    }

    @Test
    void requestsBeyondTheConcurrencyLimitAre429() throws Exception {
        // One request holds the only slot: its headers are in, its body is not.
        try (Socket slow = new Socket("127.0.0.1", server.port())) {
            OutputStream out = slow.getOutputStream();
            String first = "{\"prompt\":", rest = "\"x\",\"max_tokens\":1}";
            out.write(("POST /v1/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer the-key\r\nContent-Type: application/json\r\n"
                    + "Content-Length: " + (first.length() + rest.length()) + "\r\n\r\n" + first).getBytes(StandardCharsets.US_ASCII));
            out.flush();
            HttpResponse<String> refused = null;
            for (int i = 0; i < 200; i++) { // the slow request reaches the handler soon; bounded wait for it
                refused = post("/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":1}", "the-key");
                if (refused.statusCode() == 429) break;
                Thread.sleep(50);
            }
            expectError(refused, 429, "limit is 1 concurrent requests (--max-concurrent-requests)");
            assertThat(http.send(HttpRequest.newBuilder(URI.create(base + "/health")).build(), HttpResponse.BodyHandlers.ofString()).statusCode())
                    .as("health checks do not count against the limit").isEqualTo(200);
            out.write(rest.getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = slow.getInputStream();
            String status = new String(in.readNBytes(12), StandardCharsets.US_ASCII);
            assertThat(status).isEqualTo("HTTP/1.1 200");
        }
        HttpResponse<String> after = post("/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":1}", "the-key");
        assertThat(after.statusCode()).as("the slot is free again: " + after.body()).isEqualTo(200);
    }
}
