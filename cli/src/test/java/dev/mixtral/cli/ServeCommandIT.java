package dev.mixtral.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The README's first command, as a user runs it: {@code serve} with no model writes the built-in model,
 * starts two expert-node processes and serves the API through them.
 */
class ServeCommandIT {

    @Test
    void serveWithNoArgumentsServesTheBuiltInModelThroughALocalCluster(@TempDir Path home) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        try (ServeProcess serve = ServeProcess.start(home, "--port", "0", "--grpc-port", "0", "--local-seed-port",
                Integer.toString(ClusterSupport.freePort())).awaitReady(http, Duration.ofSeconds(60))) {
            String base = serve.base();
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/chat/completions"))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}],\"max_tokens\":6,\"temperature\":0}"))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            JsonNode body = new ObjectMapper().readTree(r.body());
            assertThat(body.get("model").asText()).isEqualTo("builtin-small-q8_0-seed42");
            assertThat(body.get("usage").get("completion_tokens").asInt()).isBetween(1, 6);
            String metrics = http.send(HttpRequest.newBuilder(URI.create(base + "/metrics")).build(), HttpResponse.BodyHandlers.ofString()).body();
            assertThat(metrics).contains("mixtral_expert_call_duration_seconds_count{node=", "mixtral_expert_balancedness");
            // the cluster page is wired to the coordinator behind the (decorated) expert backend
            JsonNode cluster = new ObjectMapper().readTree(http.send(HttpRequest.newBuilder(URI.create(base + "/cluster.json")).build(),
                    HttpResponse.BodyHandlers.ofString()).body());
            assertThat(cluster.get("nodes")).hasSize(2);
            assertThat(home.resolve("models/builtin-small-q8_0-seed42.gguf")).exists();
        }
    }
}
