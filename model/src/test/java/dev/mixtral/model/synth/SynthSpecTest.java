package dev.mixtral.model.synth;

import dev.mixtral.model.io.PythonJson;
import dev.mixtral.model.tokenizer.Vocabulary;
import org.junit.jupiter.api.Test;

import java.math.BigInteger;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SynthSpecTest {
    @Test
    void presetsHaveTheDocumentedShapes() {
        assertThat(SynthSpec.presetNames()).containsExactly("tiny", "small", "medium", "mixtral-layers", "mixtral-8x7b");
        assertThat(SynthSpec.preset("tiny")).isEqualTo(new SynthSpec(64, 2, 4, 2, 128, 8, 2, 32000, 2048, 1e6, 1e-5));
        SynthSpec m = SynthSpec.preset("mixtral-layers");
        assertThat(m.headDim()).isEqualTo(128);
        assertThat(m.kvDim()).isEqualTo(1024);
        assertThat(m.withLayers(32)).isEqualTo(SynthSpec.preset("mixtral-8x7b"));
        assertThat(SynthSpec.preset("mixtral-8x7b").parameters()).isBetween(46_000_000_000L, 47_000_000_000L);
        for (String name : SynthSpec.presetNames()) {
            SynthSpec s = SynthSpec.preset(name);
            assertThat(s.label()).isEqualTo(name);
            assertThat(s.vocab()).isEqualTo(32000);
            assertThat(s.experts()).isEqualTo(8);
            assertThat(s.topK()).isEqualTo(2);
        }
        assertThat(SynthSpec.preset("small").withLayers(1).label()).isEqualTo("d256-l1-h8-kv4-f512-e8");
        assertThatThrownBy(() -> SynthSpec.preset("huge")).hasMessageContaining("huge").hasMessageContaining("tiny");
        assertThatThrownBy(() -> new SynthSpec(64, 2, 5, 1, 128, 8, 2, 32000, 2048, 1e6, 1e-5))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new SynthSpec(64, 2, 4, 3, 128, 8, 2, 32000, 2048, 1e6, 1e-5))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void bundledVocabularyIsTheRealOne() {
        Vocabulary v = BundledVocabulary.vocabulary();
        assertThat(v.size()).isEqualTo(32000);
        assertThat(v.bos()).isEqualTo(1);
        assertThat(v.eos()).isEqualTo(2);
        assertThat(v.unk()).isEqualTo(0);
        assertThat(v.addBos()).isTrue();
        assertThat(v.tokens()[9038]).isEqualTo("▁Once");
        assertThat(v.types()[0]).isEqualTo(2);
        assertThat(BundledVocabulary.ggufMetadata().keySet()).first().isEqualTo("tokenizer.ggml.model");
        assertThat(BundledVocabulary.ggufMetadata()).containsKey("tokenizer.chat_template");
    }

    @Test
    void pythonStyleJson() {
        assertThat(PythonJson.pyFloat(1e-5)).isEqualTo("1e-05");
        assertThat(PythonJson.pyFloat(1e-6)).isEqualTo("1e-06");
        assertThat(PythonJson.pyFloat(1.5e-7)).isEqualTo("1.5e-07");
        assertThat(PythonJson.pyFloat(0.0001)).isEqualTo("0.0001");
        assertThat(PythonJson.pyFloat(0.02)).isEqualTo("0.02");
        assertThat(PythonJson.pyFloat(1e6)).isEqualTo("1000000.0");
        assertThat(PythonJson.pyFloat(5e5)).isEqualTo("500000.0");
        assertThat(PythonJson.pyFloat(123456789.0)).isEqualTo("123456789.0");
        assertThat(PythonJson.pyFloat(1e16)).isEqualTo("1e+16");
        assertThat(PythonJson.pyFloat(-2.5)).isEqualTo("-2.5");
        assertThat(PythonJson.pyFloat(0.0)).isEqualTo("0.0");
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("a", List.of("x\"é"));
        m.put("b", null);
        m.put("c", new BigInteger("1000000000000000019884624838656"));
        m.put("d", Map.of());
        assertThat(PythonJson.dumps(m)).isEqualTo(
                "{\n  \"a\": [\n    \"x\\\"\\u00e9\"\n  ],\n  \"b\": null,\n  \"c\": 1000000000000000019884624838656,\n  \"d\": {}\n}");
    }

    @Test
    void weightsAreAPureFunctionOfSeedNameAndIndex() {
        SynthWeights a = new SynthWeights(SynthSpec.preset("tiny"), 42);
        SynthWeights same = new SynthWeights(SynthSpec.preset("tiny"), 42);
        SynthWeights otherSeed = new SynthWeights(SynthSpec.preset("tiny"), 43);
        SynthWeights otherShape = new SynthWeights(SynthSpec.preset("tiny").withLayers(5), 42);
        String q = "model.layers.0.self_attn.q_proj.weight";
        assertThat(same.value(q, 5, 7)).isEqualTo(a.value(q, 5, 7));
        assertThat(otherShape.value(q, 5, 7)).as("independent of the rest of the model").isEqualTo(a.value(q, 5, 7));
        assertThat(otherSeed.value(q, 5, 7)).isNotEqualTo(a.value(q, 5, 7));
        assertThat(a.value("model.layers.1.self_attn.q_proj.weight", 5, 7)).isNotEqualTo(a.value(q, 5, 7));
    }

    @Test
    void vectorRowsEqualTheScalarReferenceIncludingTailsAndTinyValues() {
        // row lengths 6 and 4099 exercise the scalar tail; the 4099-wide down-projection (std 1/64) has values below f16's normal range
        SynthWeights odd = new SynthWeights(new SynthSpec(6, 1, 1, 1, 4099, 2, 1, 32000, 16, 1e4, 1e-6), 9);
        SynthWeights tiny = new SynthWeights(SynthSpec.preset("tiny"), 9);
        int small = 0;
        for (SynthWeights w : new SynthWeights[] {odd, tiny}) {
            for (SynthWeights.Logical t : w.tensors()) {
                float[] row = new float[(int) t.cols() + 3];
                long rows = Math.min(t.rows(), 3000);
                for (long r = 0; r < rows; r++) {
                    w.row(t, r, row, 3);
                    for (int c = 0; c < t.cols(); c++) {
                        float v = row[3 + c];
                        assertThat(v).as(t.name() + "[" + r + "," + c + "]").isEqualTo(w.value(t.name(), r, c));
                        if (v != 0 && Math.abs(v) < 0x1.0p-14f) small++;
                    }
                }
            }
        }
        assertThat(small).isGreaterThan(10);
        assertThat(SynthWeights.snap(1e-7f)).isEqualTo(0f);
        assertThat(SynthWeights.snap(3e-5f)).isEqualTo(4 * 0x1.0p-17f);
        assertThat(SynthWeights.snap(2.5f * 0x1.0p-17f)).isEqualTo(2 * 0x1.0p-17f);   // ties to even
        assertThat(SynthWeights.snap(1.00390625f + 1e-6f)).isEqualTo(1.0078125f);
        assertThat(SynthWeights.snap(1.00390625f)).isEqualTo(1.0f);                  // bf16 tie to even
    }
}
