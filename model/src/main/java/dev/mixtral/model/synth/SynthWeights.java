package dev.mixtral.model.synth;

import dev.mixtral.model.weights.ExpertProjection;
import dev.mixtral.model.weights.HuggingFaceTensorNames;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

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
    private final RouterSkew skew;
    private final java.util.Set<String> routers = new java.util.HashSet<>();

    public SynthWeights(SynthSpec spec, long seed) {
        this(spec, seed, RouterSkew.NONE);
    }

    /** With the router rows of {@code skew}'s experts scaled (hot experts). */
    public SynthWeights(SynthSpec spec, long seed, RouterSkew skew) {
        skew.check(spec.experts());
        this.spec = spec;
        this.seed = seed;
        this.skew = skew;
        Map<String, Logical> m = new LinkedHashMap<>();
        int dim = spec.dim();
        double invDim = 1.0 / Math.sqrt(dim);
        HuggingFaceTensorNames hf = HuggingFaceTensorNames.NAMES;
        add(m, hf.embedding(), spec.vocab(), dim, Init.NORMAL, 1.0);
        for (int l = 0; l < spec.layers(); l++) {
            add(m, hf.attentionNorm(l), 1, dim, Init.NORM_WEIGHT, 0);
            add(m, hf.query(l), dim, dim, Init.NORMAL, 1.5 * invDim);
            add(m, hf.key(l), spec.kvDim(), dim, Init.NORMAL, 1.5 * invDim);
            add(m, hf.value(l), spec.kvDim(), dim, Init.NORMAL, invDim);
            add(m, hf.attentionOutput(l), dim, dim, Init.NORMAL, invDim);
            add(m, hf.ffnNorm(l), 1, dim, Init.NORM_WEIGHT, 0);
            add(m, hf.router(l), spec.experts(), dim, Init.NORMAL, 1.5 * invDim);
            routers.add(hf.router(l));
            for (int e = 0; e < spec.experts(); e++) {
                add(m, hf.expert(l, e, ExpertProjection.GATE), spec.hidden(), dim, Init.NORMAL, invDim);
                add(m, hf.expert(l, e, ExpertProjection.DOWN), dim, spec.hidden(), Init.NORMAL, 1.0 / Math.sqrt(spec.hidden()));
                add(m, hf.expert(l, e, ExpertProjection.UP), spec.hidden(), dim, Init.NORMAL, invDim);
            }
        }
        add(m, hf.outputNorm(), 1, dim, Init.NORM_WEIGHT, 0);
        add(m, hf.output(), spec.vocab(), dim, Init.NORMAL, 2.0 * invDim);
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
        long base = t.key + row * t.cols * GAMMA; // element i of the tensor hashes t.key + (i + 1) * GAMMA
        if (t.init == Init.NORM_WEIGHT) {
            for (int c = 0; c < cols; c++) dst[off + c] = normWeight(mix64(base + (c + 1) * GAMMA));
            return;
        }
        float scale = t.std * INV_STD;
        int c = 0;
        for (int end = cols - cols % LANES; c < end; c += LANES) {
            // the scalar loop below, four elements at a time (identical results)
            LongVector z = IOTA.add(base + c * GAMMA);
            z = z.lanewise(VectorOperators.LSHR, 30).lanewise(VectorOperators.XOR, z).mul(0xBF58476D1CE4E5B9L);
            z = z.lanewise(VectorOperators.LSHR, 27).lanewise(VectorOperators.XOR, z).mul(0x94D049BB133111EBL);
            LongVector h = z.lanewise(VectorOperators.LSHR, 31).lanewise(VectorOperators.XOR, z);
            LongVector pairs = h.and(FIELDS).add(h.lanewise(VectorOperators.LSHR, 10).and(FIELDS));
            LongVector sum = pairs.and(0x7FF).add(pairs.lanewise(VectorOperators.LSHR, 20).and(0x7FF))
                    .add(pairs.lanewise(VectorOperators.LSHR, 40).and(0x7FF)).sub(SUM_MEAN);
            FloatVector f = ((FloatVector) sum.convertShape(VectorOperators.L2F, FLOATS, 0)).mul(scale);
            IntVector u = f.reinterpretAsInts();
            u = u.add(u.lanewise(VectorOperators.LSHR, 16).and(1)).add(0x7fff).and(0xffff0000);
            FloatVector b = u.reinterpretAsFloats();
            VectorMask<Float> small = b.abs().lt(F16_MIN_NORMAL);
            if (small.anyTrue()) {
                b = b.blend(b.mul(0x1.0p17f).add(RINT_MAGIC).sub(RINT_MAGIC).mul(0x1.0p-17f), small);
            }
            b.intoArray(dst, off + c);
        }
        for (; c < cols; c++) dst[off + c] = normal(mix64(base + (c + 1) * GAMMA), scale);
        if (hot(t, row)) {
            for (c = 0; c < cols; c++) dst[off + c] *= skew.scale(); // a power of two: exact
        }
    }

    /** Whether row {@code row} of {@code t} is the router row of a hot expert. */
    private boolean hot(Logical t, long row) {
        return skew.scales((int) row) && routers.contains(t.name);
    }

    /** Six 10-bit fields of {@code h} summed (an Irwin–Hall "normal"), times {@code scale}, snapped. */
    private static float normal(long h, float scale) {
        long pairs = (h & FIELDS) + ((h >>> 10) & FIELDS); // fields 0+1, 2+3, 4+5 at bits 0, 20, 40
        long sum = (pairs & 0x7FF) + ((pairs >>> 20) & 0x7FF) + ((pairs >>> 40) & 0x7FF);
        return snap((float) (sum - SUM_MEAN) * scale);
    }

    private static float normWeight(long h) {
        return snap(0.5f + (h >>> 40) * 0x1.0p-24f);
    }

    private static final VectorSpecies<Long> LONGS = LongVector.SPECIES_256;
    private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_128;
    private static final int LANES = LONGS.length();
    private static final LongVector IOTA = LongVector.fromArray(LONGS, new long[] {1, 2, 3, 4}, 0).mul(GAMMA);
    private static final long FIELDS = 0x3FF003FF003FFL;
    private static final long SUM_MEAN = 3069;
    private static final float F16_MIN_NORMAL = 0x1.0p-14f;
    /** 1.5 × 2<sup>23</sup>: adding and subtracting it rounds a small float to an integer, ties to even. */
    private static final float RINT_MAGIC = 12582912f;

    /**
     * The value at (row, col), computed element by element (the scalar reference of {@link #row}, which
     * must give the same number).
     */
    public float value(String hfName, long row, long col) {
        Logical t = tensor(hfName);
        long h = mix64(t.key + (row * t.cols + col + 1) * GAMMA);
        return t.init == Init.NORM_WEIGHT ? normWeight(h) : normal(h, t.std * INV_STD) * (hot(t, row) ? skew.scale() : 1);
    }

    /** 1 / standard deviation of the sum of six uniform 10-bit values. */
    private static final float INV_STD = (float) (1.0 / Math.sqrt(6 * (1024.0 * 1024.0 - 1) / 12));

    /**
     * Rounds to the nearest bf16 value that f16 also represents exactly: bf16 round-to-nearest-even,
     * then magnitudes below 2<sup>-14</sup> (f16 subnormals) to the nearest multiple of 2<sup>-17</sup>
     * (ties to even).
     */
    public static float snap(float x) {
        int u = Float.floatToRawIntBits(x);
        u = (u + 0x7fff + ((u >>> 16) & 1)) & 0xffff0000;
        float b = Float.intBitsToFloat(u);
        if (Math.abs(b) < F16_MIN_NORMAL) b = (float) Math.rint(b * 0x1.0p17f) * 0x1.0p-17f;
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
