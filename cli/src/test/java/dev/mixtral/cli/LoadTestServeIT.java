package dev.mixtral.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mixtral.loadtest.LoadTestCommand;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code loadtest} against {@code serve} on the built-in model (in one process: {@code ServeCommandIT} covers the
 * local cluster's start, which is slow on a loaded machine): every request completes, the client's token count
 * agrees with the server's own counter, and the server's per-expert load is read from its metrics.
 */
class LoadTestServeIT {

    @Test
    void loadtestMeasuresTheBuiltInClusterAndAgreesWithItsMetrics(@TempDir Path home) throws Exception {
        Path model = home.resolve("builtin-small-q8_0-seed42.gguf"); // the built-in model, named as serve names it
        dev.mixtral.model.synth.SyntheticModel.writeGguf(dev.mixtral.model.synth.SynthSpec.preset(BuiltinModel.PRESET), BuiltinModel.TYPE,
                BuiltinModel.SEED, model, false);
        try (ServeProcess serve = ServeProcess.start(home, "--model", model.toString(), "--port", "0", "--grpc-port", "-1", "--host", "127.0.0.1")
                .awaitReady(HttpClient.newHttpClient(), Duration.ofSeconds(120))) {
            String base = serve.base();
            Path json = home.resolve("run.json");
            int code = LoadTestCommand.execute("--url", base, "--concurrency", "2", "--num-prompts", "6", "--input-len", "12", "--output-len", "8",
                    "--warmup", "1", "--metrics-url", base + "/metrics", "--metrics-interval", "500ms", "--json", json.toString(),
                    "--html", home.resolve("run.html").toString(), "--max-schedule-lag", "10000", "--timeout", "120s", "--quiet");
            JsonNode s = new ObjectMapper().readTree(json.toFile());
            assertThat(s.get("model_id").asText()).isEqualTo("builtin-small-q8_0-seed42"); // the first model /v1/models lists
            assertThat(s.get("completed").asInt()).as(s.get("error_examples").toString()).isEqualTo(6);
            assertThat(s.get("failed").asInt()).isZero();
            assertThat(s.get("requests_with_usage").asInt()).isEqualTo(6); // the server honours stream_options.include_usage
            int tokens = s.get("total_output_tokens").asInt();
            assertThat(tokens).isBetween(6, 48);
            assertThat(s.get("mean_ttft_ms").asDouble()).isPositive();
            assertThat(s.get("mean_e2el_ms").asDouble()).isGreaterThanOrEqualTo(s.get("mean_ttft_ms").asDouble());
            assertThat(code).isIn(0, 4);

            JsonNode server = s.get("server");
            JsonNode coordinator = server.get("endpoints").get(0);
            assertThat(coordinator.get("kind").asText()).isEqualTo("coordinator");
            // the server's own count of generated tokens over the measured run is the client's (the warm-up request came before the first scrape)
            assertThat(coordinator.get("generation_tokens").asDouble()).isEqualTo(tokens);
            assertThat(coordinator.get("ttft").get("count").asDouble()).isEqualTo(6);
            JsonNode load = server.get("expert_load");
            assertThat(load.get("layers").asInt()).isEqualTo(4);
            assertThat(load.get("experts").asInt()).isEqualTo(8);
            double routed = 0;
            for (JsonNode layer : load.get("tokens")) for (JsonNode e : layer) routed += e.asDouble();
            assertThat(routed).isPositive(); // top-2 routing of every prompt and generated token, in each of the 4 layers
            assertThat(server.get("expert_balancedness").asDouble()).isBetween(0.0, 1.0);
            assertThat(Files.readString(home.resolve("run.html"))).contains("Expert load");
        }
    }
}
