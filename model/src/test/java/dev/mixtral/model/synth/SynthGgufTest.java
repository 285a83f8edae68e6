package dev.mixtral.model.synth;

import dev.mixtral.model.TestData;
import dev.mixtral.model.gguf.GgufFile;
import dev.mixtral.model.gguf.GgufValue;
import dev.mixtral.model.tensor.GgmlType;
import dev.mixtral.model.tensor.HalfFloats;
import dev.mixtral.model.tensor.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static dev.mixtral.model.synth.SynthTestSupport.floats;
import static dev.mixtral.model.synth.SynthTestSupport.head;
import static dev.mixtral.model.synth.SynthTestSupport.row;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class SynthGgufTest {
    private static final SynthSpec TINY = SynthSpec.preset("tiny");
    /** The golden models were made with seed 1234, so our general.name matches theirs too. */
    private static final long GOLDEN_SEED = 1234;

    @TempDir
    static Path tmp;
    static Path tinyF32;

    @BeforeAll
    static void writeTinyF32() {
        tinyF32 = tmp.resolve("tiny-F32.gguf");
        SyntheticModel.writeGguf(TINY, GgmlType.F32, GOLDEN_SEED, tinyF32, false);
    }

    private static Path golden(String file) {
        return TestData.golden().resolve("tiny").resolve(file);
    }

    @Test
    void tinyF32HasTheGoldenLayoutMetadataAndTypes() throws IOException {
        Path gold = golden("mixtral-tiny-F32.gguf");
        try (GgufFile ours = GgufFile.open(tinyF32); GgufFile theirs = GgufFile.open(gold)) {
            assertThat(ours.metadata().keySet()).containsExactlyElementsOf(theirs.metadata().keySet());
            for (Map.Entry<String, GgufValue> e : theirs.metadata().entrySet()) {
                GgufValue v = ours.value(e.getKey());
                assertThat(v.type()).as(e.getKey()).isEqualTo(e.getValue().type());
                assertThat(v.elementType()).as(e.getKey()).isEqualTo(e.getValue().elementType());
                assertThat(v.value()).as(e.getKey()).isEqualTo(e.getValue().value());
            }
            List<GgufFile.TensorInfo> a = ours.tensorInfos(), b = theirs.tensorInfos();
            assertThat(a).hasSameSizeAs(b);
            for (int i = 0; i < a.size(); i++) {
                assertThat(a.get(i).name()).isEqualTo(b.get(i).name());
                assertThat(a.get(i).shape()).as(a.get(i).name()).isEqualTo(b.get(i).shape());
                assertThat(a.get(i).type()).as(a.get(i).name()).isEqualTo(b.get(i).type());
                assertThat(a.get(i).offset()).as(a.get(i).name()).isEqualTo(b.get(i).offset());
            }
            assertThat(ours.dataOffset()).isEqualTo(theirs.dataOffset());
            assertThat(ours.fileSize()).isEqualTo(theirs.fileSize());
            // byte for byte the same header (magic, version, metadata, tensor directory, padding)
            assertThat(head(tinyF32, ours.dataOffset())).isEqualTo(head(gold, theirs.dataOffset()));
        }
    }

    @Test
    void sameSeedGivesIdenticalBytesOnAnyThreadCountAndOtherSeedsDiffer() throws IOException {
        Path one = tmp.resolve("t1.gguf"), three = tmp.resolve("t3.gguf"), other = tmp.resolve("other.gguf");
        SyntheticModel.writeGguf(TINY, GgmlType.F32, GOLDEN_SEED, one, false, 1);
        SyntheticModel.writeGguf(TINY, GgmlType.F32, GOLDEN_SEED, three, false, 3);
        SyntheticModel.writeGguf(TINY, GgmlType.F32, GOLDEN_SEED + 1, other, false, 2);
        assertThat(Files.mismatch(one, tinyF32)).isEqualTo(-1);
        assertThat(Files.mismatch(three, tinyF32)).isEqualTo(-1);
        try (GgufFile a = GgufFile.open(tinyF32); GgufFile b = GgufFile.open(other)) {
            for (GgufFile.TensorInfo t : a.tensorInfos()) {
                float[] x = floats(a.tensor(t.name())), y = floats(b.tensor(t.name()));
                int same = 0;
                for (int i = 0; i < x.length; i++) if (x[i] == y[i]) same++;
                assertThat(same).as(t.name() + ": values equal across seeds").isLessThan(x.length / 10);
            }
        }
    }

    @Test
    void valuesAreBf16AndF16ExactWithTheIntendedScales() {
        try (GgufFile f = GgufFile.open(tinyF32)) {
            for (GgufFile.TensorInfo t : f.tensorInfos()) {
                for (float v : floats(f.tensor(t.name()))) {
                    assertThat(HalfFloats.bf16ToF32(HalfFloats.f32ToBf16(v))).as(t.name()).isEqualTo(v);
                    assertThat(Float.float16ToFloat(Float.floatToFloat16(v))).as(t.name()).isEqualTo(v);
                }
            }
            assertThat(std(floats(f.tensor("token_embd.weight")))).isCloseTo(1.0, within(0.02));
            assertThat(std(floats(f.tensor("blk.0.attn_q.weight")))).isCloseTo(1.5 / 8, within(0.01));
            assertThat(std(floats(f.tensor("blk.1.attn_v.weight")))).isCloseTo(1.0 / 8, within(0.01));
            assertThat(std(floats(f.tensor("blk.0.ffn_down_exps.weight")))).isCloseTo(1 / Math.sqrt(128), within(0.005));
            assertThat(std(floats(f.tensor("output.weight")))).isCloseTo(0.25, within(0.01));
            for (float v : floats(f.tensor("output_norm.weight"))) assertThat(v).isBetween(0.5f, 1.5f);
        }
    }

    @Test
    void routingVariesAcrossTokens() {
        // router on (normed embedding × ffn_norm): every expert must be somebody's first choice
        try (GgufFile f = GgufFile.open(tinyF32)) {
            int dim = TINY.dim();
            float[] emb = floats(f.tensor("token_embd.weight"));
            float[] norm = floats(f.tensor("blk.0.ffn_norm.weight"));
            float[] router = floats(f.tensor("blk.0.ffn_gate_inp.weight"));
            int[] firstChoice = new int[TINY.experts()];
            Set<Long> pairs = new HashSet<>();
            List<Double> logits = new ArrayList<>();
            for (int tok = 100; tok < 600; tok++) {
                float[] x = row(emb, tok, dim);
                double ss = 0;
                for (float v : x) ss += v * v;
                float scale = (float) (1 / Math.sqrt(ss / dim + 1e-5));
                double[] l = new double[TINY.experts()];
                for (int e = 0; e < l.length; e++) {
                    for (int c = 0; c < dim; c++) l[e] += router[e * dim + c] * x[c] * scale * norm[c];
                    logits.add(l[e]);
                }
                int best = 0, second = -1;
                for (int e = 1; e < l.length; e++) if (l[e] > l[best]) best = e;
                for (int e = 0; e < l.length; e++) if (e != best && (second < 0 || l[e] > l[second])) second = e;
                firstChoice[best]++;
                pairs.add((long) Math.min(best, second) * 8 + Math.max(best, second));
            }
            assertThat(java.util.Arrays.stream(firstChoice).min().getAsInt()).as(java.util.Arrays.toString(firstChoice)).isGreaterThan(10);
            assertThat(pairs.size()).isGreaterThan(20);
            assertThat(std(logits.stream().mapToDouble(Double::doubleValue).toArray())).isBetween(1.0, 2.5);
        }
    }

    @Test
    void qAndKPermutationFollowsTheGoldenFiles() {
        // the golden GGUF and HF checkpoints hold the same weights: check the convention the writer uses
        try (GgufFile gguf = GgufFile.open(golden("mixtral-tiny-F32.gguf"));
             var hf = dev.mixtral.model.safetensors.SafetensorsCheckpoint.open(TestData.hfCheckpoint("hf-f32"))) {
            int hd = TINY.headDim();
            for (String[] qk : new String[][] {{"blk.0.attn_q.weight", "model.layers.0.self_attn.q_proj.weight"},
                                               {"blk.1.attn_k.weight", "model.layers.1.self_attn.k_proj.weight"}}) {
                float[] g = floats(gguf.tensor(qk[0])), h = floats(hf.tensor(qk[1]));
                long rows = g.length / TINY.dim();
                for (long r = 0; r < rows; r++) {
                    assertThat(row(g, r, TINY.dim())).isEqualTo(row(h, SynthTestSupport.hfRow(r, hd), TINY.dim()));
                    assertThat(SyntheticModel.hfRowOfGgufRow(r, hd)).isEqualTo(SynthTestSupport.hfRow(r, hd));
                }
            }
        }
    }

    @Test
    void f16AndBf16FilesHoldTheSameNumbers() {
        Path f16 = tmp.resolve("tiny-F16.gguf"), bf16 = tmp.resolve("tiny-BF16.gguf");
        SyntheticModel.writeGguf(TINY, GgmlType.F16, GOLDEN_SEED, f16, false);
        SyntheticModel.writeGguf(TINY, GgmlType.BF16, GOLDEN_SEED, bf16, false);
        try (GgufFile a = GgufFile.open(tinyF32); GgufFile b = GgufFile.open(f16); GgufFile c = GgufFile.open(bf16)) {
            assertThat(b.getLong("general.file_type")).isEqualTo(1);
            assertThat(c.getLong("general.file_type")).isEqualTo(32);
            for (GgufFile.TensorInfo t : a.tensorInfos()) {
                boolean keepsF32 = t.name().endsWith("norm.weight") || t.name().contains("ffn_gate_inp");
                assertThat(b.tensorInfo(t.name()).type()).isEqualTo(keepsF32 ? GgmlType.F32 : GgmlType.F16);
                assertThat(c.tensorInfo(t.name()).type()).isEqualTo(keepsF32 ? GgmlType.F32 : GgmlType.BF16);
                float[] x = floats(a.tensor(t.name()));
                assertThat(floats(b.tensor(t.name()))).as(t.name()).isEqualTo(x);
                assertThat(floats(c.tensor(t.name()))).as(t.name()).isEqualTo(x);
            }
        }
    }

    // ---- quantized exports (need the real Quantize/Dequantize) --------------------------------------

    @Test
    void q8_0AndQ4_0HeadersMatchTheGoldenFilesAndValuesDequantizeClose() throws IOException {
        for (GgmlType type : List.of(GgmlType.Q8_0, GgmlType.Q4_0)) {
            Path ours = tmp.resolve("tiny-" + type + ".gguf");
            SyntheticModel.writeGguf(TINY, type, GOLDEN_SEED, ours, false);
            Path gold = golden("mixtral-tiny-" + type + ".gguf");
            long offset = SynthTestSupport.dataOffset(gold);
            assertThat(SynthTestSupport.dataOffset(ours)).isEqualTo(offset);
            assertThat(head(ours, offset)).as(type + " header").isEqualTo(head(gold, offset));
            assertThat(Files.size(ours)).isEqualTo(Files.size(gold));
            assertDequantizesClose(ours, tinyF32, type == GgmlType.Q8_0 ? 0.01 : 0.15);
        }
    }

    @Test
    void q4_kMixUsesEveryKQuantAndFallsBackToQ8_0OnShortRows() {
        SynthSpec spec = new SynthSpec(256, 1, 4, 2, 256, 8, 2, SynthSpec.VOCAB, 512, 1e6, 1e-5);
        Path mix = tmp.resolve("k-mix.gguf"), ref = tmp.resolve("k-ref.gguf");
        SyntheticModel.writeGguf(spec, GgmlType.Q4_K, 5, mix, false);
        SyntheticModel.writeGguf(spec, GgmlType.F32, 5, ref, false);
        try (GgufFile f = GgufFile.open(mix)) {
            assertThat(f.getLong("general.file_type")).isEqualTo(15);
            assertThat(f.has("synth.type_fallback")).isFalse();
            assertThat(f.tensorInfo("token_embd.weight").type()).isEqualTo(GgmlType.Q4_K);
            assertThat(f.tensorInfo("blk.0.attn_q.weight").type()).isEqualTo(GgmlType.Q4_K);
            // llama.cpp's Q4_K_M for an 8-expert model: attn_k and attn_v Q8_0, attn_output Q5_K, the one layer's
            // ffn_down Q6_K (it is the last eighth of the layers)
            assertThat(f.tensorInfo("blk.0.attn_k.weight").type()).isEqualTo(GgmlType.Q8_0);
            assertThat(f.tensorInfo("blk.0.attn_v.weight").type()).isEqualTo(GgmlType.Q8_0);
            assertThat(f.tensorInfo("blk.0.attn_output.weight").type()).isEqualTo(GgmlType.Q5_K);
            assertThat(f.tensorInfo("blk.0.ffn_gate_exps.weight").type()).isEqualTo(GgmlType.Q4_K);
            assertThat(f.tensorInfo("blk.0.ffn_up_exps.weight").type()).isEqualTo(GgmlType.Q4_K);
            assertThat(f.tensorInfo("blk.0.ffn_down_exps.weight").type()).isEqualTo(GgmlType.Q6_K);
            assertThat(f.tensorInfo("blk.0.ffn_gate_inp.weight").type()).isEqualTo(GgmlType.F32);
            assertThat(f.tensorInfo("output.weight").type()).isEqualTo(GgmlType.Q6_K);
        }
        assertDequantizesClose(mix, ref, 0.15);

        // tiny's rows (64, 128) are shorter than a K-quant block: everything falls back to Q8_0, and says so
        Path tiny = tmp.resolve("tiny-Q4_K.gguf");
        SyntheticModel.writeGguf(TINY, GgmlType.Q4_K, GOLDEN_SEED, tiny, false);
        try (GgufFile f = GgufFile.open(tiny)) {
            for (GgufFile.TensorInfo t : f.tensorInfos()) {
                assertThat(t.type()).as(t.name()).isIn(GgmlType.F32, GgmlType.Q8_0);
            }
            String[] notes = f.getArray("synth.type_fallback", String[].class);
            assertThat(notes).contains("blk.0.ffn_down_exps.weight Q4_K->Q8_0", "blk.1.ffn_down_exps.weight Q6_K->Q8_0",
                    "blk.0.attn_output.weight Q5_K->Q8_0", "output.weight Q6_K->Q8_0");
        }
    }

    /**
     * The Q4_K_M mix follows llama-quantize's choices for Mixtral 8x7B's 32 layers: the experts' down-projections
     * get Q6_K in layers 0-3, 28-31 and every third layer between (16 of 32), Q4_K elsewhere; without 8 experts
     * attn_v follows the same layers and attn_k and attn_output stay Q4_K.
     */
    @Test
    void q4_kMixMatchesLlamaQuantizeQ4KMPerLayer() {
        List<Integer> moreBits = new ArrayList<>();
        for (int l = 0; l < 32; l++) {
            GgmlType down = SyntheticModel.ggufType("blk." + l + ".ffn_down_exps.weight", 14336, GgmlType.Q4_K, 32, 8, new ArrayList<>());
            assertThat(down).isIn(GgmlType.Q6_K, GgmlType.Q4_K);
            if (down == GgmlType.Q6_K) moreBits.add(l);
            assertThat(SyntheticModel.ggufType("blk." + l + ".attn_v.weight", 4096, GgmlType.Q4_K, 32, 8, new ArrayList<>())).isEqualTo(GgmlType.Q8_0);
            assertThat(SyntheticModel.ggufType("blk." + l + ".ffn_gate_exps.weight", 4096, GgmlType.Q4_K, 32, 8, new ArrayList<>())).isEqualTo(GgmlType.Q4_K);
        }
        assertThat(moreBits).containsExactly(0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31);
        assertThat(SyntheticModel.ggufType("blk.6.attn_v.weight", 4096, GgmlType.Q4_K, 32, 1, new ArrayList<>())).isEqualTo(GgmlType.Q6_K);
        assertThat(SyntheticModel.ggufType("blk.7.attn_v.weight", 4096, GgmlType.Q4_K, 32, 1, new ArrayList<>())).isEqualTo(GgmlType.Q4_K);
        assertThat(SyntheticModel.ggufType("blk.7.attn_k.weight", 4096, GgmlType.Q4_K, 32, 1, new ArrayList<>())).isEqualTo(GgmlType.Q4_K);
        assertThat(SyntheticModel.ggufType("blk.7.attn_output.weight", 4096, GgmlType.Q4_K, 32, 1, new ArrayList<>())).isEqualTo(GgmlType.Q4_K);
        assertThat(SyntheticModel.ggufType("output.weight", 4096, GgmlType.Q4_K, 32, 8, new ArrayList<>())).isEqualTo(GgmlType.Q6_K);
    }

    /** Every tensor of {@code quantized} dequantizes to within {@code relRms} (RMS error / RMS value) of {@code ref}. */
    private static void assertDequantizesClose(Path quantized, Path ref, double relRms) {
        try (GgufFile q = GgufFile.open(quantized); GgufFile r = GgufFile.open(ref)) {
            for (GgufFile.TensorInfo t : q.tensorInfos()) {
                Tensor qt = q.tensor(t.name());
                float[] x = floats(r.tensor(t.name())), y = floats(qt);
                double err = 0, sum = 0;
                for (int i = 0; i < x.length; i++) {
                    err += (x[i] - y[i]) * (double) (x[i] - y[i]);
                    sum += x[i] * (double) x[i];
                }
                double bound = qt.type() == GgmlType.F32 ? 0 : qt.type() == GgmlType.Q8_0 ? Math.min(relRms, 0.01) : relRms;
                assertThat(Math.sqrt(err / sum)).as(t.name() + " " + qt.type()).isLessThanOrEqualTo(bound);
            }
        }
    }

    static double std(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) d[i] = v[i];
        return std(d);
    }

    static double std(double[] v) {
        double m = 0, s = 0;
        for (double x : v) m += x;
        m /= v.length;
        for (double x : v) s += (x - m) * (x - m);
        return Math.sqrt(s / v.length);
    }
}
