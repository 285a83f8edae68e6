package dev.mixtral.model.synth;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The weights of a synthetic model as a pure function of (seed, tensor name, element index), with
 * tensors named and shaped as in the Hugging Face checkpoint ({@code [rows, cols]}, Q/K un-permuted).
 * Any element can be computed independently, so rows are generated in parallel with the same result
 * on any thread count, and the GGUF and safetensors exports of one seed hold the same numbers.
 *
 * <p>Every value is representable in bf16 and exactly in f16 too (values below f16's normal range are
 * rounded to multiples of 2<sup>-17</sup>), so F32, BF16 and F16 files of a seed hold identical numbers.
 *
 * <p>Scales follow the golden tiny model: embeddings ~N(0, 1); norms uniform in [0.5, 1.5); Q, K and the
 * router ~N(0, 1.5/√dim) (router logits have std ≈ 1.5, so routing varies across tokens); V, O and the
 * expert gate/up projections ~N(0, 1/√fan_in); expert down ~N(0, 1/√hidden); the output head
 * ~N(0, 2/√dim). "Normal" is an Irwin–Hall sum of six uniforms (bounded at ±4.2σ).
 */
public final class SynthWeights {
    /** How a tensor's values are drawn. */
    public enum Init { NORMAL, NORM_WEIGHT }

    /** A tensor in Hugging Face naming and row-major shape. */
    public record Logical(String name, long rows, long cols, Init init, float std, long key) {
        public long elements() {
            return rows * cols;
        }
    }

    private static final long GAMMA = 0x9E3779B97F4A7C15L;

    private final SynthSpec spec;
    private final long seed;
    private final Map<String, Logical> tensors;

    public SynthWeights(SynthSpec spec, long seed) {
        this.spec = spec;
        this.seed = seed;
        Map<String, Logical> m = new LinkedHashMap<>();
        int dim = spec.dim();
        double invDim = 1.0 / Math.sqrt(dim);
        add(m, "model.embed_tokens.weight", spec.vocab(), dim, Init.NORMAL, 1.0);
        for (int l = 0; l < spec.layers(); l++) {
            String p = "model.layers." + l + ".";
            add(m, p + "input_layernorm.weight", 1, dim, Init.NORM_WEIGHT, 0);
            add(m, p + "self_attn.q_proj.weight", dim, dim, Init.NORMAL, 1.5 * invDim);
            add(m, p + "self_attn.k_proj.weight", spec.kvDim(), dim, Init.NORMAL, 1.5 * invDim);
            add(m, p + "self_attn.v_proj.weight", spec.kvDim(), dim, Init.NORMAL, invDim);
            add(m, p + "self_attn.o_proj.weight", dim, dim, Init.NORMAL, invDim);
            add(m, p + "post_attention_layernorm.weight", 1, dim, Init.NORM_WEIGHT, 0);
            add(m, p + "block_sparse_moe.gate.weight", spec.experts(), dim, Init.NORMAL, 1.5 * invDim);
            for (int e = 0; e < spec.experts(); e++) {
                String x = p + "block_sparse_moe.experts." + e + ".";
                add(m, x + "w1.weight", spec.hidden(), dim, Init.NORMAL, invDim);
                add(m, x + "w2.weight", dim, spec.hidden(), Init.NORMAL, 1.0 / Math.sqrt(spec.hidden()));
                add(m, x + "w3.weight", spec.hidden(), dim, Init.NORMAL, invDim);
            }
        }
        add(m, "model.norm.weight", 1, dim, Init.NORM_WEIGHT, 0);
        add(m, "lm_head.weight", spec.vocab(), dim, Init.NORMAL, 2.0 * invDim);
        this.tensors = Collections.unmodifiableMap(m);
    }

    private void add(Map<String, Logical> m, String name, long rows, long cols, Init init, double std) {
        m.put(name, new Logical(name, rows, cols, init, (float) std, mix64(seed * GAMMA ^ fnv1a(name))));
    }

    public SynthSpec spec() {
        return spec;
    }

    public long seed() {
        return seed;
    }

    /** Every tensor, in the order of a Hugging Face Mixtral checkpoint. */
    public List<Logical> tensors() {
        return new ArrayList<>(tensors.values());
    }

    public Logical tensor(String hfName) {
        Logical t = tensors.get(hfName);
        if (t == null) throw new IllegalArgumentException("no tensor " + hfName + " in a " + spec.label() + " model");
        return t;
    }

    /** Writes row {@code row} of {@code t} ({@code t.cols()} values) to {@code dst[off ..]}. */
    public void row(Logical t, long row, float[] dst, int off) {
        int cols = (int) t.cols;
        long index = row * t.cols;
        long state = t.key + index * GAMMA;
        if (t.init == Init.NORM_WEIGHT) {
            for (int c = 0; c < cols; c++) {
                state += GAMMA;
                long h = mix64(state);
                dst[off + c] = snap(0.5f + (h >>> 40) * 0x1.0p-24f);
            }
        } else {
            float scale = t.std * INV_STD;
            for (int c = 0; c < cols; c++) {
                state += GAMMA;
                long h = mix64(state);
                int sum = (int) (h & 1023) + (int) ((h >>> 10) & 1023) + (int) ((h >>> 20) & 1023)
                        + (int) ((h >>> 30) & 1023) + (int) ((h >>> 40) & 1023) + (int) ((h >>> 50) & 1023);
                dst[off + c] = snap((sum - 3069) * scale);
            }
        }
    }

    /** The value at (row, col) — the same number {@link #row} produces there. */
    public float value(String hfName, long row, long col) {
        Logical t = tensor(hfName);
        float[] r = new float[(int) t.cols];
        row(t, row, r, 0);
        return r[(int) col];
    }

    /** 1 / standard deviation of the sum of six uniform 10-bit values. */
    private static final float INV_STD = (float) (1.0 / Math.sqrt(6 * (1024.0 * 1024.0 - 1) / 12));

    /**
     * Rounds to the nearest bf16 value that f16 also represents exactly: bf16 round-to-nearest-even,
     * then magnitudes below 2<sup>-14</sup> (f16 subnormals) to a multiple of 2<sup>-17</sup>.
     */
    public static float snap(float x) {
        int u = Float.floatToRawIntBits(x);
        u = (u + 0x7fff + ((u >>> 16) & 1)) & 0xffff0000;
        float b = Float.intBitsToFloat(u);
        if (Math.abs(b) < 0x1.0p-14f) b = Math.round(b * 0x1.0p17f) * 0x1.0p-17f;
        return b;
    }

    static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    private static long fnv1a(String s) {
        long h = 0xcbf29ce484222325L;
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= 0x100000001b3L;
        }
        return h;
    }
}
