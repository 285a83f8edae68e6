package dev.mixtral.model.synth;

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
        assertThat(PyJson.pyFloat(1e-5)).isEqualTo("1e-05");
        assertThat(PyJson.pyFloat(1e-6)).isEqualTo("1e-06");
        assertThat(PyJson.pyFloat(1.5e-7)).isEqualTo("1.5e-07");
        assertThat(PyJson.pyFloat(0.0001)).isEqualTo("0.0001");
        assertThat(PyJson.pyFloat(0.02)).isEqualTo("0.02");
        assertThat(PyJson.pyFloat(1e6)).isEqualTo("1000000.0");
        assertThat(PyJson.pyFloat(5e5)).isEqualTo("500000.0");
        assertThat(PyJson.pyFloat(123456789.0)).isEqualTo("123456789.0");
        assertThat(PyJson.pyFloat(1e16)).isEqualTo("1e+16");
        assertThat(PyJson.pyFloat(-2.5)).isEqualTo("-2.5");
        assertThat(PyJson.pyFloat(0.0)).isEqualTo("0.0");
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("a", List.of("x\"é"));
        m.put("b", null);
        m.put("c", new BigInteger("1000000000000000019884624838656"));
        m.put("d", Map.of());
        assertThat(PyJson.dumps(m)).isEqualTo(
                "{\n  \"a\": [\n    \"x\\\"\\u00e9\"\n  ],\n  \"b\": null,\n  \"c\": 1000000000000000019884624838656,\n  \"d\": {}\n}");
    }

    @Test
    void weightsAreAPureFunctionOfSeedNameAndIndex() {
        SynthWeights a = new SynthWeights(SynthSpec.preset("tiny"), 42);
        SynthWeights b = new SynthWeights(SynthSpec.preset("small"), 42);
        // the same tensor name and element index give the same value whatever else the model holds
        // (shapes differ, so compare an element of a tensor whose row length is the same: none; use the row API)
        SynthWeights.Logical t = a.tensor("model.layers.0.self_attn.q_proj.weight");
        float[] r1 = new float[64], r2 = new float[64];
        a.row(t, 5, r1, 0);
        a.row(t, 5, r2, 0);
        assertThat(r1).isEqualTo(r2);
        assertThat(a.value("model.layers.0.self_attn.q_proj.weight", 5, 7)).isEqualTo(r1[7]);
        assertThat(b.value("model.layers.0.self_attn.q_proj.weight", 0, 0))
                .isNotEqualTo(a.value("model.layers.0.self_attn.q_proj.weight", 0, 0));
        assertThat(SynthWeights.snap(1e-7f)).isEqualTo(0f);
        assertThat(SynthWeights.snap(3e-5f)).isEqualTo(4 * 0x1.0p-17f);
        assertThat(SynthWeights.snap(1.00390625f + 1e-6f)).isEqualTo(1.0078125f);  // ties away from the odd bf16
    }
}
