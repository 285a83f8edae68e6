package dev.mixtral.server.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mixtral.model.MixtralModel;
import dev.mixtral.model.synth.SynthSpec;
import dev.mixtral.model.synth.SyntheticModel;
import dev.mixtral.model.tensor.GgmlType;
import dev.mixtral.server.engine.EngineConfig;
import dev.mixtral.server.engine.InferenceEngine;
import dev.mixtral.model.forward.KvCache;
import dev.mixtral.model.kernel.VectorWidth;
import dev.mixtral.model.forward.LocalExperts;
import org.junit.jupiter.api.AfterAll;
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
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The HTTP API through a real HTTP client against a real server (experts in process, the built-in synthetic model). */
class ApiServerTest {
    static final ObjectMapper JSON = new ObjectMapper();
    /** The built-in model: synthetic preset small, Q8_0, seed 42, written as the CLI writes it. */
    static Path MODEL;
    static MixtralModel model;
    static InferenceEngine engine;
    static ApiServer server;
    static ServerMetrics metrics;
    static final AtomicReference<String> notReady = new AtomicReference<>();
    static final HttpClient http = HttpClient.newHttpClient();
    static String base;

    @BeforeAll
    static void start(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        MODEL = dir.resolve("builtin.gguf");
        SyntheticModel.writeGguf(SynthSpec.preset("small"), GgmlType.Q8_0, 42, MODEL, false);
        metrics = new ServerMetrics();
        model = MixtralModel.open(MODEL, files -> metrics.counting(LocalExperts.loadAll(files)));
        engine = new InferenceEngine(model.transformer(), new EngineConfig(8, 64, 1L << 30, 64, KvCache.Type.F32));
        server = new ApiServer(engine, model.tokenizer(), metrics,
                new ApiServer.Options("127.0.0.1", 0, "tiny", null, notReady::get)).start();
        base = "http://127.0.0.1:" + server.port();
    }

    @AfterAll
    static void stop() {
        server.close();
        engine.close();
        model.close();
    }

    static HttpResponse<String> post(String path, String body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(base + path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    static HttpResponse<String> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(base + path)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void modelsAndHealth() throws Exception {
        JsonNode models = JSON.readTree(get("/v1/models").body());
        assertThat(models.get("object").asText()).isEqualTo("list");
        assertThat(models.get("data").get(0).get("id").asText()).isEqualTo("tiny");
        assertThat(get("/health").statusCode()).isEqualTo(200);
        assertThat(get("/ready").statusCode()).isEqualTo(200);
    }

    @Test
    void greedyCompletionIsTheModelsGreedyContinuation() throws Exception {
        int[] prompt = model.tokenizer().encode("Once upon a time", true);
        int[] greedy = new dev.mixtral.model.forward.Generator(model.transformer(), KvCache.Type.F32, 64)
                .generate(prompt, 8, dev.mixtral.model.forward.SamplingParams.GREEDY);
        HttpResponse<String> r = post("/v1/completions", "{\"model\":\"tiny\",\"prompt\":\"Once upon a time\",\"max_tokens\":8,\"temperature\":0}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode body = JSON.readTree(r.body());
        assertThat(body.get("object").asText()).isEqualTo("text_completion");
        JsonNode choice = body.get("choices").get(0);
        int[] ids = greedy;
        var decoder = model.tokenizer().newDecoder(false);
        StringBuilder sb = new StringBuilder();
        for (int id : ids) sb.append(decoder.accept(id));
        String expected = sb.append(decoder.finish()).toString();
        assertThat(choice.get("text").asText()).isEqualTo(expected);
        assertThat(choice.get("finish_reason").asText()).isEqualTo("length");
        assertThat(body.get("usage").get("prompt_tokens").asInt()).isEqualTo(prompt.length);
        assertThat(body.get("usage").get("completion_tokens").asInt()).isEqualTo(8);
        assertThat(body.get("usage").get("total_tokens").asInt()).isEqualTo(8 + prompt.length);
    }

    @Test
    void stopStringsEndTheCompletionBeforeTheStopText() throws Exception {
        String full = JSON.readTree(post("/v1/completions", "{\"prompt\":\"Once upon a time\",\"max_tokens\":12,\"temperature\":0}").body())
                .get("choices").get(0).get("text").asText();
        String stop = full.substring(full.length() / 2, full.length() / 2 + 2);
        JsonNode stopped = JSON.readTree(post("/v1/completions", "{\"prompt\":\"Once upon a time\",\"max_tokens\":12,\"temperature\":0,\"stop\":"
                + JSON.writeValueAsString(stop) + "}").body()).get("choices").get(0);
        assertThat(stopped.get("text").asText()).isEqualTo(full.substring(0, full.indexOf(stop)));
        assertThat(stopped.get("finish_reason").asText()).isEqualTo("stop");
    }

    @Test
    void chatStreamsAsServerSentEvents() throws Exception {
        HttpResponse<InputStream> r = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/chat/completions"))
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"Explain mixture of experts.\"}],"
                        + "\"max_tokens\":10,\"temperature\":0.8,\"seed\":5,\"stream\":true,\"stream_options\":{\"include_usage\":true}}")).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-type")).hasValueSatisfying(v -> assertThat(v).startsWith("text/event-stream"));
        List<String> data = new ArrayList<>();
        try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
            for (String line; (line = in.readLine()) != null; ) {
                if (line.isEmpty()) continue;
                assertThat(line).startsWith("data: ");
                data.add(line.substring(6));
            }
        }
        assertThat(data.getLast()).isEqualTo("[DONE]");
        JsonNode first = JSON.readTree(data.getFirst());
        assertThat(first.get("object").asText()).isEqualTo("chat.completion.chunk");
        assertThat(first.get("choices").get(0).get("delta").get("role").asText()).isEqualTo("assistant");
        StringBuilder text = new StringBuilder();
        String finish = null;
        for (String d : data.subList(1, data.size() - 2)) {
            JsonNode c = JSON.readTree(d).get("choices").get(0);
            if (c.get("delta").has("content")) text.append(c.get("delta").get("content").asText());
            if (!c.get("finish_reason").isNull()) finish = c.get("finish_reason").asText();
        }
        assertThat(finish).isEqualTo("length");
        JsonNode usage = JSON.readTree(data.get(data.size() - 2)).get("usage");
        assertThat(usage.get("completion_tokens").asInt()).isEqualTo(10);
        // the same request without streaming gives the same text
        JsonNode whole = JSON.readTree(post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"Explain mixture of experts.\"}],"
                + "\"max_tokens\":10,\"temperature\":0.8,\"seed\":5}").body());
        assertThat(whole.get("object").asText()).isEqualTo("chat.completion");
        assertThat(whole.get("choices").get(0).get("message").get("content").asText()).isEqualTo(text.toString());
    }

    /** Streams a completion and returns its text, checking the SSE framing on the way. */
    static String streamText(String body) throws Exception {
        HttpResponse<InputStream> r = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/completions"))
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofInputStream());
        assertThat(r.statusCode()).isEqualTo(200);
        StringBuilder text = new StringBuilder();
        boolean done = false;
        try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
            for (String line; (line = in.readLine()) != null; ) {
                if (line.isEmpty()) continue;
                assertThat(done).as("nothing after [DONE]").isFalse();
                String data = line.substring("data: ".length());
                if (data.equals("[DONE]")) done = true;
                else text.append(JSON.readTree(data).get("choices").get(0).get("text").asText());
            }
        }
        assertThat(done).isTrue();
        return text.toString();
    }

    @Test
    void eightConcurrentStreamsOnTheBuiltInModelEachEqualTheSameRequestAlone() throws Exception {
        List<String> bodies = new ArrayList<>();
        int tokens = 0;
        for (int i = 0; i < 8; i++) {
            bodies.add("{\"prompt\":\"Request number " + i + " says\",\"max_tokens\":" + (24 + i) + ",\"temperature\":0.9,\"top_p\":0.9,\"seed\":"
                    + (40 + i) + ",\"stream\":true}");
            tokens += 24 + i;
        }
        List<String> alone = new ArrayList<>();
        long t0 = System.nanoTime();
        for (String b : bodies) alone.add(streamText(b));
        double sequentialSeconds = (System.nanoTime() - t0) / 1e9;
        List<CompletableFuture<String>> together = new ArrayList<>();
        var pool = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor();
        t0 = System.nanoTime();
        for (String b : bodies) together.add(CompletableFuture.supplyAsync(() -> {
            try {
                return streamText(b);
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        }, pool));
        for (int i = 0; i < 8; i++) {
            assertThat(together.get(i).get(120, TimeUnit.SECONDS)).as("request %d", i).isEqualTo(alone.get(i)).isNotEmpty();
        }
        double concurrentSeconds = (System.nanoTime() - t0) / 1e9;
        System.out.printf("built-in model over HTTP: one stream at a time %.1f tokens/s, 8 concurrent streams %.1f tokens/s aggregate (%.1f×)%n",
                tokens / sequentialSeconds, tokens / concurrentSeconds, sequentialSeconds / concurrentSeconds);
        pool.close();
    }

    @Test
    void aClientThatDisconnectsMidStreamFreesItsSlot() throws Exception {
        HttpResponse<InputStream> r = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/completions"))
                .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"Once\",\"max_tokens\":3000,\"stream\":true}")).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8));
        assertThat(in.readLine()).startsWith("data: ");
        await().atMost(30, TimeUnit.SECONDS).until(() -> engine.stats().running() == 1);
        in.close(); // the client goes away
        await().atMost(30, TimeUnit.SECONDS).until(() -> engine.stats().running() == 0 && engine.stats().kvReservedBytes() == 0);
    }

    @Test
    void badRequestsGetA4xxInOpenAisShapeSayingWhatIsWrong() throws Exception {
        expectError(post("/v1/completions", "{\"prompt\": \"x\", "), 400, "the request body is not valid JSON");
        expectError(post("/v1/completions", "[1,2]"), 400, "the request body must be a JSON object");
        expectError(post("/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":\"ten\"}"), 400, "'max_tokens' must be an integer");
        expectError(post("/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":0}"), 400, "'max_tokens' must be a positive integer");
        expectError(post("/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":100000}"), 400, "exceeds the model's context of 4096 tokens");
        expectError(post("/v1/completions", "{\"prompt\":\"x\",\"temperature\":-0.5}"), 400, "'temperature' must be between 0 and 2");
        expectError(post("/v1/completions", "{\"prompt\":\"x\",\"model\":\"gpt-4\"}"), 400, "model 'gpt-4' is not served here; this server serves 'tiny'");
        expectError(post("/v1/completions", "{\"max_tokens\":3}"), 400, "'prompt' is required");
        expectError(post("/v1/completions", "{\"prompt\":\"" + "word ".repeat(4200) + "\"}"), 400, "the model's context is 4096 tokens");
        expectError(post("/v1/chat/completions", "{\"messages\":[]}"), 400, "'messages' must not be empty");
        expectError(post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\"}]}"), 400, "'messages[0].content' is required");
        expectError(post("/v1/chat/completions", "{\"messages\":[{\"role\":\"assistant\",\"content\":\"hi\"}]}"), 400, "");
        expectError(post("/v1/completions", "{\"prompt\":\"x\",\"n\":2}"), 400, "only n=1 is supported");
        expectError(get("/v1/completions"), 405, "use POST");
        expectError(get("/v1/nothing"), 404, "no such endpoint");
    }

    @Test
    void notReadyIs503() throws Exception {
        notReady.set("experts [3, 5] are not held by any live expert node");
        try {
            expectError(post("/v1/completions", "{\"prompt\":\"x\"}"), 503, "experts [3, 5] are not held");
            HttpResponse<String> ready = get("/ready");
            assertThat(ready.statusCode()).isEqualTo(503);
            assertThat(ready.body()).contains("experts [3, 5]");
        } finally {
            notReady.set(null);
        }
    }

    @Test
    void overloadIs429AndApiKeysAreChecked() throws Exception {
        try (InferenceEngine full = new InferenceEngine(model.transformer(), new EngineConfig(1, 0, 1L << 30, 64, KvCache.Type.F32));
             ApiServer keyed = new ApiServer(full, model.tokenizer(), new ServerMetrics(),
                     new ApiServer.Options("127.0.0.1", 0, "tiny", "s3cret", () -> null)).start()) {
            String url = "http://127.0.0.1:" + keyed.port() + "/v1/completions";
            HttpResponse<String> noKey = http.send(HttpRequest.newBuilder(URI.create(url)).POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"x\"}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            expectError(noKey, 401, "missing API key");
            HttpResponse<String> wrong = http.send(HttpRequest.newBuilder(URI.create(url)).header("Authorization", "Bearer nope")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"x\"}")).build(), HttpResponse.BodyHandlers.ofString());
            expectError(wrong, 401, "incorrect API key");
            HttpResponse<String> overloaded = http.send(HttpRequest.newBuilder(URI.create(url)).header("Authorization", "Bearer s3cret")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"x\"}")).build(), HttpResponse.BodyHandlers.ofString());
            expectError(overloaded, 429, "at capacity");
        }
    }

    @Test
    void metricsAreValidPrometheusTextAndMoveWithRequests() throws Exception {
        double before = PrometheusText.parse(get("/metrics").body()).value("mixtral_prompt_tokens_total");
        post("/v1/completions", "{\"prompt\":\"Once upon a time\",\"max_tokens\":3,\"temperature\":0}");
        HttpResponse<String> r = get("/metrics");
        assertThat(r.headers().firstValue("content-type")).hasValueSatisfying(v -> assertThat(v).startsWith("text/plain; version=0.0.4"));
        PrometheusText text = PrometheusText.parse(r.body());
        assertThat(text.value("mixtral_prompt_tokens_total")).isEqualTo(before + 5);
        assertThat(text.value("mixtral_time_to_first_token_seconds_count")).isGreaterThanOrEqualTo(1);
        assertThat(text.value("mixtral_requests_total{finish_reason=\"length\"}")).isGreaterThanOrEqualTo(1);
        assertThat(text.sumOf("mixtral_expert_tokens_total")).isGreaterThan(0);
        assertThat(text.value("mixtral_kernel_vector_bits")).as("the kernels' width in this process").isEqualTo(VectorWidth.BITS);
        assertThat(text.names()).contains("mixtral_requests_running", "mixtral_requests_waiting", "mixtral_kv_cache_usage_ratio",
                "mixtral_inter_token_latency_seconds_bucket", "mixtral_request_duration_seconds_sum", "mixtral_generation_tokens_total");
    }

    static void expectError(HttpResponse<String> r, int status, String message) throws Exception {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        JsonNode err = JSON.readTree(r.body()).get("error");
        assertThat(err).as(r.body()).isNotNull();
        assertThat(err.get("message").asText()).contains(message).isNotBlank();
        assertThat(err.has("type") && err.has("param") && err.has("code")).isTrue();
    }
}
