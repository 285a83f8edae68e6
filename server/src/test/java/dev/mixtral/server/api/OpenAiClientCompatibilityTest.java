package dev.mixtral.server.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mixtral.model.MixtralModel;
import dev.mixtral.model.TestData;
import dev.mixtral.server.engine.EngineConfig;
import dev.mixtral.server.engine.InferenceEngine;
import dev.mixtral.model.forward.KvCache;
import dev.mixtral.model.forward.LocalExperts;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The official openai npm client, run with the machine's Node.js, works against the server without adaptation. */
class OpenAiClientCompatibilityTest {

    @Test
    void officialOpenAiClientCompletesChatsAndStreams() throws Exception {
        Path client = installClient();
        ServerMetrics metrics = new ServerMetrics();
        try (MixtralModel model = MixtralModel.open(TestData.golden().resolve("tiny/mixtral-tiny-Q8_0.gguf"), LocalExperts::loadAll);
             InferenceEngine engine = new InferenceEngine(model.transformer(), new EngineConfig(4, 16, 1L << 28, 64, KvCache.Type.F32));
             ApiServer server = new ApiServer(engine, model.tokenizer(), metrics, new ApiServer.Options("127.0.0.1", 0, "tiny", null, () -> null)).start()) {
            String out = run(client, List.of("node", "openai-client.mjs", "http://127.0.0.1:" + server.port() + "/v1", "tiny"));
            JsonNode r = new ObjectMapper().readTree(out);
            assertThat(r.get("models").get(0).asText()).isEqualTo("tiny");
            assertThat(r.get("completion").get("finish").asText()).isEqualTo("length");
            assertThat(r.get("completion").get("usage").get("completion_tokens").asInt()).isEqualTo(8);
            assertThat(r.get("completion").get("text").asText()).isNotEmpty().isEqualTo(r.get("completionStream").asText());
            assertThat(r.get("chat").get("role").asText()).isEqualTo("assistant");
            assertThat(r.get("chat").get("content").asText()).isNotEmpty();
            assertThat(r.get("stream").get("content").asText()).isEqualTo(r.get("chat").get("content").asText());
            assertThat(r.get("stream").get("finish").asText()).isEqualTo("length");
            assertThat(r.get("stream").get("usage").get("completion_tokens").asInt()).isEqualTo(8);
            assertThat(r.get("badRequest").get("status").asInt()).isEqualTo(400);
            assertThat(r.get("badRequest").get("message").asText()).contains("max_tokens");
        }
    }

    /** Installs the pinned client from package.json / package-lock.json into target/ (once). */
    static Path installClient() throws Exception {
        Path src = Path.of("src/test/node");
        Path dir = Path.of("target/node-client");
        Files.createDirectories(dir);
        for (String f : List.of("package.json", "package-lock.json", "openai-client.mjs")) {
            Files.copy(src.resolve(f), dir.resolve(f), StandardCopyOption.REPLACE_EXISTING);
        }
        if (!Files.isDirectory(dir.resolve("node_modules/openai"))) {
            run(dir, List.of("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"));
        }
        return dir;
    }

    static String run(Path dir, List<String> command) throws IOException, InterruptedException {
        // stderr goes to the test log, so a failing client explains itself there
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("%s finished", command).isTrue();
        assertThat(p.exitValue()).as("%s failed: %s", command, out).isZero();
        return out;
    }
}
