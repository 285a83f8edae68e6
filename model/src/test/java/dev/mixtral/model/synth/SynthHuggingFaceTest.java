package dev.mixtral.model.synth;

import dev.mixtral.model.TestData;
import dev.mixtral.model.gguf.GgufFile;
import dev.mixtral.model.safetensors.SafetensorsCheckpoint;
import dev.mixtral.model.safetensors.SafetensorsFile;
import dev.mixtral.model.tensor.GgmlType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static dev.mixtral.model.synth.SynthTestSupport.floats;
import static dev.mixtral.model.synth.SynthTestSupport.head;
import static dev.mixtral.model.synth.SynthTestSupport.row;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SynthHuggingFaceTest {
    private static final SynthSpec TINY = SynthSpec.preset("tiny");
    private static final long SEED = 1234;

    @TempDir
    static Path tmp;
    static Path hfF32;
    static Path gguf;

    @BeforeAll
    static void write() {
        hfF32 = tmp.resolve("hf-f32");
        gguf = tmp.resolve("tiny-F32.gguf");
        SyntheticModel.writeHuggingFace(TINY, GgmlType.F32, SEED, hfF32);
        SyntheticModel.writeGguf(TINY, GgmlType.F32, SEED, gguf, false);
    }

    private static Path golden(String dir) {
        return TestData.hfCheckpoint(dir);
    }

    @Test
    void configFilesAndSafetensorsHeaderAreLaidOutLikeTheGoldenCheckpoint() throws IOException {
        for (String file : List.of("config.json", "generation_config.json", "tokenizer_config.json")) {
            assertThat(Files.readString(hfF32.resolve(file))).as(file)
                    .isEqualTo(Files.readString(golden("hf-f32").resolve(file)));
        }
        try (SafetensorsFile ours = SafetensorsFile.open(hfF32.resolve("model.safetensors"));
             SafetensorsFile theirs = SafetensorsFile.open(golden("hf-f32").resolve("model.safetensors"))) {
            assertThat(ours.names()).containsExactlyElementsOf(theirs.names());
            assertThat(ours.metadata()).isEqualTo(theirs.metadata());
            assertThat(ours.dataStart()).isEqualTo(theirs.dataStart());
            // the same header, byte for byte: names, dtypes, row-major shapes and offsets
            assertThat(head(hfF32.resolve("model.safetensors"), ours.dataStart()))
                    .isEqualTo(head(golden("hf-f32").resolve("model.safetensors"), theirs.dataStart()));
        }
        assertThat(Files.exists(hfF32.resolve(SafetensorsCheckpoint.INDEX_FILE))).isFalse();
    }

    @Test
    void bf16CheckpointMatchesTheGoldenLayoutAndHoldsTheSameNumbers() throws IOException {
        Path dir = tmp.resolve("hf-bf16");
        SyntheticModel.writeHuggingFace(TINY, GgmlType.BF16, SEED, dir);
        assertThat(Files.readString(dir.resolve("config.json")))
                .isEqualTo(Files.readString(golden("hf-bf16").resolve("config.json")));
        long start;
        try (SafetensorsFile f = SafetensorsFile.open(golden("hf-bf16").resolve("model.safetensors"))) {
            start = f.dataStart();
        }
        assertThat(head(dir.resolve("model.safetensors"), start))
                .isEqualTo(head(golden("hf-bf16").resolve("model.safetensors"), start));
        try (SafetensorsCheckpoint a = SafetensorsCheckpoint.open(hfF32); SafetensorsCheckpoint b = SafetensorsCheckpoint.open(dir)) {
            for (String name : a.names()) {
                assertThat(b.tensor(name).type()).isEqualTo(GgmlType.BF16);
                assertThat(floats(b.tensor(name))).as(name).isEqualTo(floats(a.tensor(name)));
            }
        }
    }

    @Test
    void ggufAndHuggingFaceExportsOfOneSeedHoldIdenticalValues() {
        Path split = tmp.resolve("tiny-split.gguf");
        SyntheticModel.writeGguf(TINY, GgmlType.F32, SEED, split, true);
        int dim = TINY.dim(), hd = TINY.headDim(), hidden = TINY.hidden();
        try (SafetensorsCheckpoint hf = SafetensorsCheckpoint.open(hfF32);
             GgufFile g = GgufFile.open(gguf);
             GgufFile s = GgufFile.open(split)) {
            same(g, "token_embd.weight", hf, "model.embed_tokens.weight");
            same(g, "output_norm.weight", hf, "model.norm.weight");
            same(g, "output.weight", hf, "lm_head.weight");
            for (int l = 0; l < TINY.layers(); l++) {
                String b = "blk." + l + ".", m = "model.layers." + l + ".";
                same(g, b + "attn_norm.weight", hf, m + "input_layernorm.weight");
                same(g, b + "attn_v.weight", hf, m + "self_attn.v_proj.weight");
                same(g, b + "attn_output.weight", hf, m + "self_attn.o_proj.weight");
                same(g, b + "ffn_norm.weight", hf, m + "post_attention_layernorm.weight");
                same(g, b + "ffn_gate_inp.weight", hf, m + "block_sparse_moe.gate.weight");
                for (String[] qk : new String[][] {{"attn_q", "q_proj"}, {"attn_k", "k_proj"}}) {
                    float[] x = floats(g.tensor(b + qk[0] + ".weight"));
                    float[] y = floats(hf.tensor(m + "self_attn." + qk[1] + ".weight"));
                    assertThat(x.length).isEqualTo(y.length);
                    assertThat(x).as("permuted, not identical").isNotEqualTo(y);
                    for (long r = 0; r < x.length / dim; r++) {
                        assertThat(row(x, r, dim)).as(b + qk[0] + " row " + r).isEqualTo(row(y, SynthTestSupport.hfRow(r, hd), dim));
                    }
                }
                String[][] ffn = {{"ffn_gate", "w1"}, {"ffn_down", "w2"}, {"ffn_up", "w3"}};
                for (String[] f : ffn) {
                    float[] stacked = floats(g.tensor(b + f[0] + "_exps.weight"));
                    int per = dim * hidden;
                    assertThat(stacked).hasSize(per * TINY.experts());
                    for (int e = 0; e < TINY.experts(); e++) {
                        float[] expert = floats(hf.tensor(m + "block_sparse_moe.experts." + e + "." + f[1] + ".weight"));
                        assertThat(java.util.Arrays.copyOfRange(stacked, e * per, (e + 1) * per))
                                .as(b + f[0] + " expert " + e).isEqualTo(expert);
                        String splitName = b + f[0] + "." + e + ".weight";
                        assertThat(s.tensorInfo(splitName).shape()).isEqualTo(hf.tensor(m + "block_sparse_moe.experts." + e + "." + f[1] + ".weight").shape());
                        assertThat(floats(s.tensor(splitName))).as(splitName).isEqualTo(expert);
                    }
                }
            }
            assertThat(g.tensorInfo("blk.0.ffn_down_exps.weight").shape()).containsExactly(hidden, dim, TINY.experts());
            assertThat(s.tensorInfo("blk.0.ffn_down_exps.weight")).isNull();
            assertThat(s.tensorInfos()).hasSize(3 + TINY.layers() * (7 + 3 * TINY.experts()));
        }
    }

    private static void same(GgufFile g, String ggufName, SafetensorsCheckpoint hf, String hfName) {
        var a = g.tensor(ggufName);
        var b = hf.tensor(hfName);
        assertThat(a.shape()).as(ggufName).isEqualTo(b.shape());
        assertThat(floats(a)).as(ggufName + " = " + hfName).isEqualTo(floats(b));
    }

    @Test
    void largeCheckpointsAreShardedWithAnIndex() throws IOException {
        Path dir = tmp.resolve("sharded");
        SyntheticModel.writeHuggingFace(TINY, GgmlType.BF16, SEED, dir, 2, 3_000_000);
        assertThat(dir.resolve(SafetensorsCheckpoint.INDEX_FILE)).exists();
        try (SafetensorsCheckpoint sharded = SafetensorsCheckpoint.open(dir);
             SafetensorsCheckpoint ref = SafetensorsCheckpoint.open(hfF32)) {
            assertThat(sharded.files().size()).isGreaterThan(2);
            assertThat(sharded.names()).containsExactlyInAnyOrderElementsOf(ref.names());
            for (String name : List.of("model.embed_tokens.weight", "lm_head.weight", "model.layers.1.block_sparse_moe.experts.7.w2.weight")) {
                assertThat(floats(sharded.tensor(name))).isEqualTo(floats(ref.tensor(name)));
            }
        }
    }

    @Test
    void refusesQuantizedHuggingFaceExports() {
        assertThatThrownBy(() -> SyntheticModel.writeHuggingFace(TINY, GgmlType.Q8_0, SEED, tmp.resolve("q")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("Q8_0");
    }
}
