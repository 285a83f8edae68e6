package dev.mixtral.loadtest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** --trace sends each request at its timestamp with its lengths; --dataset sends its prompts and max_tokens. */
class WorkloadReplayTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static List<JsonNode> lines(Path file) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        for (String l : Files.readAllLines(file)) out.add(JSON.readTree(l));
        return out;
    }

    @Test
    void aTraceIsReplayedAtItsTimestampsWithItsLengths(@TempDir Path dir) throws Exception {
        Path trace = dir.resolve("trace.jsonl");
        Files.writeString(trace, """
                {"timestamp": 1000, "input_length": 7, "output_length": 3}
                {"timestamp": 1150, "input_length": 9, "output_length": 5}
                {"timestamp": 1300, "prompt": "hello there", "output_length": 2}

                {"timestamp": 1800, "messages": [{"role": "user", "content": "a b c"}], "max_tokens": 4}
                """);
        try (MockLlmServer mock = MockLlmServer.start(MockLlmServer.Behavior.steady(5, 5, 2))) {
            Path jsonl = dir.resolve("r.jsonl");
            JsonNode s = LoadTestAccuracyTest.run(dir, "--url", mock.url(), "--trace", trace.toString(), "--warmup", "0", "--jsonl", jsonl.toString());
            assertThat(s.get("completed").asInt()).isEqualTo(4);
            List<JsonNode> rs = lines(jsonl);
            double[] intended = rs.stream().mapToDouble(r -> r.get("intended_start_ms").asDouble()).toArray();
            assertThat(intended).containsExactly(0, 150, 300, 800);
            assertThat(rs.stream().mapToInt(r -> r.get("output_tokens").asInt()).toArray()).containsExactly(3, 5, 2, 4);
            assertThat(rs.get(0).get("input_tokens").asInt()).isEqualTo(7); // the mock counts words, the prompt has 7
            assertThat(rs.get(1).get("input_tokens").asInt()).isEqualTo(9);
            assertThat(s.get("scheduled_request_rate").asDouble()).isCloseTo(3 / 0.8, within(1e-9));
        }
    }

    @Test
    void aDatasetIsSentAsWrittenOnTheChatEndpoint(@TempDir Path dir) throws Exception {
        Path data = dir.resolve("prompts.jsonl");
        Files.writeString(data, """
                {"prompt": "one two three", "max_tokens": 2}
                {"messages": [{"role": "user", "content": "four five"}], "max_tokens": 6}
                """);
        try (MockLlmServer mock = MockLlmServer.start(MockLlmServer.Behavior.steady(5, 5, 2))) {
            Path jsonl = dir.resolve("r.jsonl");
            JsonNode s = LoadTestAccuracyTest.run(dir, "--url", mock.url(), "--dataset", data.toString(), "--endpoint", "chat",
                    "--concurrency", "1", "--num-prompts", "4", "--warmup", "0", "--jsonl", jsonl.toString());
            assertThat(s.get("completed").asInt()).isEqualTo(4);
            List<JsonNode> rs = lines(jsonl);
            // the file is used in order and from the start again
            assertThat(rs.stream().mapToInt(r -> r.get("max_tokens").asInt()).toArray()).containsExactly(2, 6, 2, 6);
            assertThat(rs.stream().mapToInt(r -> r.get("input_tokens").asInt()).toArray()).containsExactly(3, 2, 3, 2);
        }
        Path bad = dir.resolve("bad.jsonl");
        Files.writeString(bad, "{\"prompt\": \"ok\"}\n{\"text\": 5}\n");
        assertThatThrownBy(() -> Workload.readEntries(bad)).hasMessageContaining("bad.jsonl line 2").hasMessageContaining("'prompt'");
        Path badTrace = dir.resolve("bad-trace.jsonl");
        Files.writeString(badTrace, "{\"input_length\": 5}\n");
        assertThatThrownBy(() -> TraceReplay.read(badTrace)).hasMessageContaining("line 1").hasMessageContaining("timestamp");
    }
}
