package dev.mixtral.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
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

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The README's first command, as a user runs it: {@code serve} with no model writes the built-in model,
 * starts two expert-node processes and serves the API through them.
 */
class ServeCommandIT {

    @Test
    void serveWithNoArgumentsServesTheBuiltInModelThroughALocalCluster(@TempDir Path home) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElseThrow());
        cmd.addAll(LocalCluster.JVM_FLAGS);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName(),
                "serve", "--port", "0", "--grpc-port", "0", "--local-seed-port", Integer.toString(ClusterSupport.freePort())));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT);
        pb.environment().put("MIXTRAL_HOME", home.toString());
        pb.environment().remove("MIXTRAL_MODEL");
        pb.environment().remove("MIXTRAL_SEEDS");
        Process serve = pb.start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(serve.getInputStream(), StandardCharsets.UTF_8));
            String base = CompletableFuture.supplyAsync(() -> {
                try {
                    return out.readLine(); // serve prints its address alone on stdout once ready
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            }).get(180, TimeUnit.SECONDS);
            assertThat(base).startsWith("http://127.0.0.1:");
            HttpClient http = HttpClient.newHttpClient();
            await().atMost(60, TimeUnit.SECONDS).until(() ->
                    http.send(HttpRequest.newBuilder(URI.create(base + "/ready")).build(), HttpResponse.BodyHandlers.ofString()).statusCode() == 200);
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
        } finally {
            serve.destroy(); // SIGTERM: the shutdown hook stops the expert nodes too
            if (!serve.waitFor(30, TimeUnit.SECONDS)) serve.destroyForcibly();
        }
        // no expert node may outlive it
        await().atMost(30, TimeUnit.SECONDS).until(() -> ProcessHandle.allProcesses()
                .noneMatch(p -> p.info().commandLine().orElse("").contains(home.toString())
                        || p.info().arguments().map(a -> String.join(" ", a)).orElse("").contains(home.toString())));
    }
}
