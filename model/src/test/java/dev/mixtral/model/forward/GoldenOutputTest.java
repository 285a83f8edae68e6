package dev.mixtral.model.forward;

import dev.mixtral.model.Golden;
import dev.mixtral.model.TestData;
import org.junit.jupiter.api.Test;
import dev.mixtral.model.weights.ModelFiles;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

/** The forward pass reproduces the exact output of each golden file, token for token and logit for logit. */
class GoldenOutputTest {

    static Transformer load(Path model) {
        ModelFiles files = ModelFiles.open(model);
        return new Transformer(files.config(), files.loadDense(), LocalExperts.loadAll(files));
    }

    /** The golden files: GGUF F32/Q8_0/Q4_0, and the same weights as Hugging Face F32 and BF16 checkpoints. */
    static Path file(String source) {
        return source.startsWith("hf-") ? TestData.hfCheckpoint(source) : Golden.load(source).gguf();
    }

    static Golden goldenOf(String source) {
        return Golden.load(source.startsWith("hf-") ? "F32" : source);
    }

    @ParameterizedTest
    @ValueSource(strings = {"F32", "Q8_0", "Q4_0", "hf-f32", "hf-bf16"})
    void greedyContinuationEqualsExactReference(String source) {
        String type = goldenOf(source).type();
        Golden golden = goldenOf(source);
        Generator generator = new Generator(load(file(source)), KvCache.Type.F32, 512);
        for (Golden.Case c : golden.cases()) {
            int[] tokens = generator.generate(c.promptIds(), c.exactGenerated().length, SamplingParams.GREEDY);
            assertThat(tokens).as("%s: %s", type, c.prompt()).containsExactly(c.exactGenerated());
            if (type.equals("F32")) {
                assertThat(tokens).as("llama.cpp f32-KV tokens").containsExactly(c.llamaKvF32Generated());
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"F32", "Q8_0", "Q4_0", "hf-f32", "hf-bf16"})
    void teacherForcedLogitsMatchExactTop5(String source) {
        Golden golden = goldenOf(source);
        String type = golden.type();
        Generator generator = new Generator(load(file(source)), KvCache.Type.F32, 512);
        double tolerance = type.equals("F32") ? 1e-4 : 1e-3;
        double worst = 0;
        for (Golden.Case c : golden.cases()) {
            int[] input = concat(c.promptIds(), Arrays.copyOf(c.exactGenerated(), c.exactGenerated().length - 1));
            float[] logits = generator.score(input);
            int vocab = 32000;
            for (int step = 0; step < c.exactTop5().length; step++) {
                int row = c.promptIds().length - 1 + step;
                for (float[] idLogit : c.exactTop5()[step]) {
                    float ours = logits[row * vocab + (int) idLogit[0]];
                    worst = Math.max(worst, Math.abs(ours - idLogit[1]));
                }
            }
        }
        System.out.printf("golden %s: max |logit - exact| over top-5 of every step = %.2e%n", source, worst);
        assertThat(worst).as("max logit error for %s", type).isLessThan(tolerance);
    }

    @Test
    void safetensorsAndGgufOfTheSameWeightsAgree() {
        int[] tokens = GoldenOutputTest.concat(goldenOf("F32").cases().get(2).promptIds(), goldenOf("F32").cases().get(2).exactGenerated());
        float[] gguf = new Generator(load(file("F32")), KvCache.Type.F32, 512).score(tokens);
        float[] hf = new Generator(load(file("hf-f32")), KvCache.Type.F32, 512).score(tokens);
        double worst = 0;
        for (int i = 0; i < gguf.length; i++) worst = Math.max(worst, Math.abs(gguf[i] - hf[i]));
        System.out.printf("GGUF F32 vs safetensors F32, same weights: max |logit difference| over %d positions × 32000 = %.2e%n", tokens.length, worst);
        assertThat(worst).isLessThan(1e-4);
    }

    static int[] concat(int[] a, int[] b) {
        int[] r = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
