package dev.mixtral.server.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mixtral.model.MixtralModel;
import dev.mixtral.model.TestData;
import dev.mixtral.model.forward.KvCache;
import dev.mixtral.model.forward.LocalExperts;
import dev.mixtral.proto.v1.GenerateRequest;
import dev.mixtral.proto.v1.GenerateResponse;
import dev.mixtral.proto.v1.GenerationServiceGrpc;
import dev.mixtral.server.engine.EngineConfig;
import dev.mixtral.server.engine.InferenceEngine;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The HTTP and gRPC APIs answer the same request alike: the same text, finish reason and token count, or
 * the same error. Each case is sent through both, to real servers on loopback sharing one engine.
 */
class ApiParityTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient http = HttpClient.newHttpClient();
    static MixtralModel model;
    static InferenceEngine engine;
    static ApiServer httpServer;
    static GrpcApiServer grpcServer;
    static ManagedChannel channel;

    @BeforeAll
    static void start() throws Exception {
        model = MixtralModel.open(TestData.golden().resolve("tiny/mixtral-tiny-Q8_0.gguf"), LocalExperts::loadAll);
        engine = new InferenceEngine(model.transformer(), new EngineConfig(4, 16, 1L << 30, 64, KvCache.Type.F32));
        ServerMetrics metrics = new ServerMetrics();
        httpServer = new ApiServer(engine, model.tokenizer(), metrics, new ApiServer.Options("127.0.0.1", 0, "tiny", null, () -> null)).start();
        grpcServer = new GrpcApiServer(engine, model.tokenizer(), metrics, "127.0.0.1", 0, () -> null);
        channel = NettyChannelBuilder.forAddress("127.0.0.1", grpcServer.port()).usePlaintext().build();
    }

    @AfterAll
    static void stop() {
        channel.shutdownNow();
        grpcServer.close();
        httpServer.close();
        engine.close();
        model.close();
    }

    /** A completion request; null fields are not sent. */
    record Case(String prompt, int[] promptIds, Integer maxTokens, Float temperature, Float topP, Integer topK, Long seed, List<String> stop) {
        static Case prompt(String prompt) {
            return new Case(prompt, null, null, null, null, null, null, List.of());
        }

        Case maxTokens(int n) { return new Case(prompt, promptIds, n, temperature, topP, topK, seed, stop); }
        Case temperature(float t) { return new Case(prompt, promptIds, maxTokens, t, topP, topK, seed, stop); }
        Case topP(float p) { return new Case(prompt, promptIds, maxTokens, temperature, p, topK, seed, stop); }
        Case topK(int k) { return new Case(prompt, promptIds, maxTokens, temperature, topP, k, seed, stop); }
        Case seed(long s) { return new Case(prompt, promptIds, maxTokens, temperature, topP, topK, s, stop); }
        Case stop(String s) { return new Case(prompt, promptIds, maxTokens, temperature, topP, topK, seed, List.of(s)); }
        Case ids(int... ids) { return new Case(null, ids, maxTokens, temperature, topP, topK, seed, stop); }

        String json() {
            ObjectNode b = JSON.createObjectNode();
            if (prompt != null) b.put("prompt", prompt);
            if (promptIds != null) for (int id : promptIds) b.withArray("prompt").add(id);
            if (maxTokens != null) b.put("max_tokens", maxTokens);
            if (temperature != null) b.put("temperature", temperature);
            if (topP != null) b.put("top_p", topP);
            if (topK != null) b.put("top_k", topK);
            if (seed != null) b.put("seed", seed);
            for (String s : stop) b.withArray("stop").add(s);
            return b.toString();
        }

        GenerateRequest proto() {
            GenerateRequest.Builder b = GenerateRequest.newBuilder();
            if (prompt != null) b.setPrompt(prompt);
            if (promptIds != null) for (int id : promptIds) b.addPromptTokenIds(id);
            if (maxTokens != null) b.setMaxTokens(maxTokens);
            if (temperature != null) b.setTemperature(temperature);
            if (topP != null) b.setTopP(topP);
            if (topK != null) b.setTopK(topK);
            if (seed != null) b.setSeed(seed);
            b.addAllStop(stop);
            return b.build();
        }
    }

    /** What a client sees: the text, finish reason and completion tokens, or the error's kind and message. */
    record Outcome(String text, String finishReason, int completionTokens, String errorKind, String error) {}

    static Outcome overHttp(Case c) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpServer.port() + "/v1/completions"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(c.json())).build(),
                HttpResponse.BodyHandlers.ofString());
        JsonNode body = JSON.readTree(r.body());
        if (r.statusCode() != 200) {
            String kind = switch (r.statusCode()) {
                case 400 -> "invalid argument";
                case 503 -> "unavailable";
                default -> "status " + r.statusCode();
            };
            return new Outcome(null, null, 0, kind, body.get("error").get("message").asText());
        }
        JsonNode choice = body.get("choices").get(0);
        return new Outcome(choice.get("text").asText(), choice.get("finish_reason").asText(),
                body.get("usage").get("completion_tokens").asInt(), null, null);
    }

    static Outcome overGrpc(Case c) {
        StringBuilder text = new StringBuilder();
        GenerateResponse last = null;
        try {
            var stub = GenerationServiceGrpc.newBlockingStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS);
            for (Iterator<GenerateResponse> it = stub.generate(c.proto()); it.hasNext(); ) {
                last = it.next();
                text.append(last.getText());
            }
        } catch (StatusRuntimeException e) {
            String kind = e.getStatus().getCode() == Status.Code.INVALID_ARGUMENT ? "invalid argument"
                    : e.getStatus().getCode() == Status.Code.UNAVAILABLE ? "unavailable" : e.getStatus().getCode().toString();
            return new Outcome(null, null, 0, kind, e.getStatus().getDescription());
        }
        return new Outcome(text.toString(), last.getFinishReason(), last.getUsage().getCompletionTokens(), null, null);
    }

    static Outcome same(Case c) throws Exception {
        Outcome h = overHttp(c), g = overGrpc(c);
        assertThat(g).as("gRPC vs HTTP for %s", c.json()).isEqualTo(h);
        return h;
    }

    @Test
    void theSameRequestGivesTheSameOutputThroughBothApis() throws Exception {
        String prompt = "Once upon a time";
        Outcome greedy = same(Case.prompt(prompt).maxTokens(8).temperature(0));
        assertThat(greedy.completionTokens()).isEqualTo(8);
        assertThat(greedy.text()).isNotEmpty();
        // unset temperature means 1 on both (OpenAI's default), not greedy
        Outcome byDefault = same(Case.prompt(prompt).maxTokens(8).seed(7));
        assertThat(byDefault).isEqualTo(same(Case.prompt(prompt).maxTokens(8).seed(7).temperature(1)));
        // top_k -1 means no limit on both
        assertThat(same(Case.prompt(prompt).maxTokens(8).seed(3).temperature(0.9f).topK(-1)))
                .isEqualTo(same(Case.prompt(prompt).maxTokens(8).seed(3).temperature(0.9f).topK(0)));
        // unset max_tokens: 16 for a prompt on both
        assertThat(same(Case.prompt(prompt).temperature(0)).completionTokens()).isEqualTo(16);
        // a stop string ends both at the same place, with finish_reason "stop"
        String stop = greedy.text().substring(greedy.text().length() / 2, greedy.text().length() / 2 + 1);
        Outcome stopped = same(Case.prompt(prompt).maxTokens(8).temperature(0).stop(stop));
        assertThat(stopped.finishReason()).isEqualTo("stop");
        assertThat(stopped.text()).isEqualTo(greedy.text().substring(0, greedy.text().indexOf(stop)));
    }

    @Test
    void theSameBadRequestGetsTheSameErrorThroughBothApis() throws Exception {
        int context = model.config().context();
        List<Case> bad = List.of(
                Case.prompt("x").temperature(2.5f),
                Case.prompt("x").topP(0),
                Case.prompt("x").topK(-2),
                Case.prompt("x").maxTokens(0),
                Case.prompt("x").maxTokens(context),
                Case.prompt("x").ids(1, model.config().vocab()));
        for (Case c : bad) {
            Outcome o = same(c);
            assertThat(o.errorKind()).as(c.json()).isEqualTo("invalid argument");
            assertThat(o.error()).as(c.json()).isNotBlank();
        }
        assertThat(overHttp(Case.prompt("x").maxTokens(context)).error())
                .contains("exceeds the model's context of " + context + " tokens").contains("at most " + (context - model.tokenizer().encode("x", true).length));
        assertThat(overHttp(Case.prompt("x").topK(-2)).error()).contains("'top_k' must be >= 0 (or -1 for no limit)");
    }
}
