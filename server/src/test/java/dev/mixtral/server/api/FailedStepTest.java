package dev.mixtral.server.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mixtral.model.MixtralModel;
import dev.mixtral.model.TestData;
import dev.mixtral.model.forward.ExpertExecutor;
import dev.mixtral.model.forward.KvCache;
import dev.mixtral.model.forward.LocalExperts;
import dev.mixtral.server.engine.EngineConfig;
import dev.mixtral.server.engine.InferenceEngine;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A forward step that fails (as when an expert node dies with no replica) fails the requests in it, and
 * only those: a unary request gets 503 with the cause, a stream an error event, and the server goes on
 * serving. The experts are the real ones behind a switch that makes them throw.
 */
class FailedStepTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient http = HttpClient.newHttpClient();
    static final AtomicBoolean failing = new AtomicBoolean();
    static MixtralModel model;
    static InferenceEngine engine;
    static ApiServer server;

    @BeforeAll
    static void start() throws Exception {
        model = MixtralModel.open(TestData.golden().resolve("tiny/mixtral-tiny-Q8_0.gguf"), files -> {
            ExpertExecutor real = LocalExperts.loadAll(files);
            return batch -> {
                if (failing.get()) throw new IllegalStateException("layer " + batch.layer() + ": expert node 127.0.0.1:1 is unreachable");
                return real.compute(batch);
            };
        });
        engine = new InferenceEngine(model.transformer(), new EngineConfig(4, 16, 1L << 30, 64, KvCache.Type.F32));
        server = new ApiServer(engine, model.tokenizer(), new ServerMetrics(), new ApiServer.Options("127.0.0.1", 0, "tiny", null, () -> null)).start();
    }

    @AfterAll
    static void stop() {
        server.close();
        engine.close();
        model.close();
    }

    @AfterEach
    void healed() throws Exception {
        failing.set(false);
        await().atMost(30, TimeUnit.SECONDS).until(() -> engine.stats().running() == 0);
        assertThat(engine.stats().kvReservedBytes()).isZero();
        // the server still serves
        HttpResponse<String> ok = post("{\"prompt\":\"Once upon a time\",\"max_tokens\":4,\"temperature\":0}");
        assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
        assertThat(JSON.readTree(ok.body()).get("usage").get("completion_tokens").asInt()).isEqualTo(4);
    }

    static HttpResponse<String> post(String body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/v1/completions"))
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void aUnaryRequestWhoseStepFailsGets503WithTheCause() throws Exception {
        failing.set(true);
        HttpResponse<String> r = post("{\"prompt\":\"Once upon a time\",\"max_tokens\":4}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(503);
        JsonNode error = JSON.readTree(r.body()).get("error");
        assertThat(error.get("type").asText()).isEqualTo("service_unavailable");
        assertThat(error.get("message").asText()).startsWith("generation failed: ").contains("expert node 127.0.0.1:1 is unreachable");
    }

    @Test
    void aStreamWhoseStepFailsMidwayEndsWithAnErrorEvent() throws Exception {
        HttpResponse<InputStream> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/v1/completions"))
                .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"Once upon a time\",\"max_tokens\":1000,\"temperature\":0,\"stream\":true}")).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        assertThat(r.statusCode()).isEqualTo(200);
        List<JsonNode> events = new ArrayList<>();
        try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
            for (String line; (line = in.readLine()) != null; ) {
                if (line.isEmpty()) continue;
                assertThat(line).startsWith("data: ").isNotEqualTo("data: [DONE]");
                events.add(JSON.readTree(line.substring("data: ".length())));
                if (events.size() == 1) failing.set(true); // text has started to flow: now the experts fail
            }
        }
        assertThat(events.size()).isGreaterThanOrEqualTo(2);
        assertThat(events.getFirst().get("choices").get(0).has("text")).isTrue();
        JsonNode error = events.getLast().get("error");
        assertThat(error).as(events.getLast().toString()).isNotNull();
        assertThat(error.get("type").asText()).isEqualTo("service_unavailable");
        assertThat(error.get("message").asText()).contains("expert node 127.0.0.1:1 is unreachable");
        for (JsonNode e : events.subList(0, events.size() - 1)) assertThat(e.has("error")).isFalse();
    }
}
