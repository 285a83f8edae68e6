package dev.mixtral.model.forward;

import dev.mixtral.model.synth.SynthSpec;
import dev.mixtral.model.synth.SyntheticModel;
import dev.mixtral.model.tensor.GgmlType;
import dev.mixtral.model.weights.ModelFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Set;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/** Every file layout and weight type goes through the one forward pass with the same meaning. */
class FileLayoutsTest {
    // dim 256 so that rows fit K-quant super-blocks of 256; 2 layers keep it quick
    static final SynthSpec SPEC = new SynthSpec(256, 2, 8, 4, 512, 8, 2, 32000, 512, 1e6, 1e-5);
    static final int[] PROMPT = {1, 9038, 2501, 263, 931, 29892, 727, 471};

    static float[] score(Path model) {
        try (ModelFiles files = ModelFiles.open(model)) {
            Transformer t = new Transformer(files.config(), files.loadDense(), LocalExperts.loadAll(files));
            return new Generator(t, KvCache.Type.F32, 64).score(PROMPT);
        }
    }

    @Test
    void stackedAndPerExpertGgufLayoutsGiveIdenticalLogits(@TempDir Path dir) {
        Path stacked = dir.resolve("stacked.gguf"), split = dir.resolve("split.gguf");
        SyntheticModel.writeGguf(SPEC, GgmlType.Q8_0, 7, stacked, false);
        SyntheticModel.writeGguf(SPEC, GgmlType.Q8_0, 7, split, true);
        try (ModelFiles f = ModelFiles.open(split)) {
            assertThat(f.tensors()).anyMatch(t -> t.name().equals("blk.1.ffn_down.7.weight")).noneMatch(t -> t.name().contains("_exps"));
        }
        assertThat(score(split)).containsExactly(score(stacked));
    }

    /** Max |logit difference| between two score arrays. */
    static double maxDiff(float[] a, float[] b) {
        double worst = 0;
        for (int i = 0; i < a.length; i++) {
            assertThat(Float.isFinite(a[i])).isTrue();
            worst = Math.max(worst, Math.abs(a[i] - b[i]));
        }
        return worst;
    }

    @Test
    void kQuantMixRunsEveryKQuantTypeWithErrorsLikeTheOtherFormats(@TempDir Path dir) {
        Path kq = dir.resolve("q4_k.gguf"), q4 = dir.resolve("q4_0.gguf"), q8 = dir.resolve("q8_0.gguf"), f32 = dir.resolve("f32.gguf");
        SyntheticModel.writeGguf(SPEC, GgmlType.Q4_K, 7, kq, false);
        SyntheticModel.writeGguf(SPEC, GgmlType.Q4_0, 7, q4, false);
        SyntheticModel.writeGguf(SPEC, GgmlType.Q8_0, 7, q8, false);
        SyntheticModel.writeGguf(SPEC, GgmlType.F32, 7, f32, false);
        try (ModelFiles f = ModelFiles.open(kq)) {
            Set<String> types = f.tensors().stream().map(ModelFiles.TensorEntry::type).collect(Collectors.toSet());
            assertThat(types).contains("Q4_K", "Q5_K", "Q6_K");
        }
        float[] exact = score(f32);
        double kError = maxDiff(score(kq), exact), q4Error = maxDiff(score(q4), exact), q8Error = maxDiff(score(q8), exact);
        System.out.printf("same weights vs F32, max |logit diff|: Q8_0 %.3f, Q4_K mix %.3f, Q4_0 %.3f%n", q8Error, kError, q4Error);
        // A mis-decoded K-quant block would dwarf quantization noise; the K-quant mix (4-6 bits) must
        // stay within the 4-bit Q4_0 file's error and above the 8-bit file's.
        assertThat(kError).isLessThan(1.5 * q4Error).isGreaterThan(q8Error);
    }
}
