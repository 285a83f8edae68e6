package dev.mixtral.model.weights;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mixtral.model.ModelConfig;
import dev.mixtral.model.TestData;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

/**
 * The naming tables name exactly the tensors of real files: the golden GGUF (written by llama.cpp's converter)
 * and the golden Hugging Face checkpoint, no tensor missing and none left over.
 */
class TensorNamesTest {

    private static List<String> dense(TensorNames n, ModelConfig c) {
        List<String> names = new ArrayList<>(List.of(n.embedding(), n.outputNorm(), n.output()));
        for (int l = 0; l < c.layers(); l++) {
            names.addAll(List.of(n.attentionNorm(l), n.query(l), n.key(l), n.value(l), n.attentionOutput(l),
                    n.ffnNorm(l), n.router(l)));
        }
        return names;
    }

    private static List<String> namesIn(Path model) {
        try (ModelFiles files = ModelFiles.open(model)) {
            return files.tensors().stream().map(ModelFiles.TensorEntry::name).toList();
        }
    }

    private static ModelConfig configOf(Path model) {
        try (ModelFiles files = ModelFiles.open(model)) {
            return files.config();
        }
    }

    @Test
    void ggufNamesAreLlamaCppsWithStackedExperts() {
        Path gguf = TestData.golden().resolve("tiny/mixtral-tiny-F32.gguf");
        ModelConfig c = configOf(gguf);
        List<String> expected = dense(GgufTensorNames.NAMES, c);
        for (int l = 0; l < c.layers(); l++) {
            for (ExpertProjection p : ExpertProjection.values()) expected.add(GgufTensorNames.NAMES.stackedExperts(l, p));
        }
        assertThat(namesIn(gguf)).containsExactlyInAnyOrderElementsOf(expected);
        assertThat(GgufTensorNames.NAMES.expert(3, 7, ExpertProjection.DOWN)).isEqualTo("blk.3.ffn_down.7.weight");
    }

    @Test
    void huggingFaceNamesAreMixtralForCausalLMs() {
        Path dir = TestData.hfCheckpoint("hf-f32");
        ModelConfig c = configOf(dir);
        List<String> expected = dense(HuggingFaceTensorNames.NAMES, c);
        for (int l = 0; l < c.layers(); l++) {
            for (int e = 0; e < c.experts(); e++) {
                for (ExpertProjection p : ExpertProjection.values()) expected.add(HuggingFaceTensorNames.NAMES.expert(l, e, p));
            }
        }
        assertThat(namesIn(dir)).containsExactlyInAnyOrderElementsOf(expected);
    }
}
