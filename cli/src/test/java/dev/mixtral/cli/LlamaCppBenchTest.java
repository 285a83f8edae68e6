package dev.mixtral.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Reading llama-bench's JSON: a real output (llama.cpp c392e509 on the Q8_0 layer model, 2 threads, this machine kind). */
class LlamaCppBenchTest {
    static String recordedOutput() throws IOException {
        try (InputStream in = LlamaCppBenchTest.class.getResourceAsStream("llama-bench-output.json")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void takesThePrefillAndDecodeRecordsOfARealOutput() throws IOException {
        LlamaCppBench b = LlamaCppBench.parse(recordedOutput(), Path.of("m.gguf"));
        assertThat(b.prefillTokensPerSecond()).isEqualTo(74.260066);
        assertThat(b.decodeTokensPerSecond()).isEqualTo(17.440103);
        assertThat(b.kvCache()).isEqualTo("f16");
        assertThat(b.build()).isEqualTo("build unknown");
        assertThat(b.cpu()).isEqualTo("AMD EPYC");
    }

    @Test
    void theRecordsMayComeInEitherOrderAndNameTheirBuild() throws IOException {
        String json = """
                [{"n_prompt": 0, "n_gen": 8, "avg_ts": 2.5, "build_commit": "c392e509", "build_number": 4753},
                 {"n_prompt": 16, "n_gen": 0, "avg_ts": 10.0, "build_commit": "c392e509", "build_number": 4753, "type_k": "f16"}]""";
        LlamaCppBench b = LlamaCppBench.parse(json, Path.of("m.gguf"));
        assertThat(b.prefillTokensPerSecond()).isEqualTo(10.0);
        assertThat(b.decodeTokensPerSecond()).isEqualTo(2.5);
        assertThat(b.build()).isEqualTo("build 4753, c392e509");
    }

    @Test
    void aMissingRecordOrAnOutputThatIsNotJsonIsNamed() {
        assertThatThrownBy(() -> LlamaCppBench.parse("[{\"n_prompt\": 16, \"n_gen\": 0, \"avg_ts\": 10.0}]", Path.of("m.gguf")))
                .isInstanceOf(UserException.class).hasMessageContaining("lacks a decode (n_prompt = 0, n_gen > 0) record");
        assertThatThrownBy(() -> LlamaCppBench.parse("| model | size |", Path.of("m.gguf")))
                .isInstanceOf(UserException.class).hasMessageContaining("llama-bench's output on m.gguf is not JSON");
    }

    @Test
    void refusesWhatLlamaCppCannotRunBeforeAnyTiming(@TempDir Path dir) throws IOException {
        Path notExecutable = Files.writeString(dir.resolve("llama-bench"), "#!/bin/sh\n");
        assertThatThrownBy(() -> LlamaCppBench.check(notExecutable, Path.of("m.gguf")))
                .isInstanceOf(UserException.class).hasMessageContaining("no executable file there");
        Path exe = Files.writeString(dir.resolve("llama-bench-exe"), "#!/bin/sh\n");
        assertThat(exe.toFile().setExecutable(true)).isTrue();
        assertThatThrownBy(() -> LlamaCppBench.check(exe, dir))
                .isInstanceOf(UserException.class).hasMessageContaining("cannot read the Hugging Face checkpoint directory");
    }
}
