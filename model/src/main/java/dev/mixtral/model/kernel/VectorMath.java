package dev.mixtral.model.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * f32 vector primitives. Their sums are defined on 8-lane groups rather than the machine's vector width, so that
 * every machine of a cluster sums in the same order and results do not depend on where a computation runs; the
 * groups execute as {@link RowKernel#PASS}-lane passes at the {@link VectorWidth} of this JVM (see there).
 */
public final class VectorMath {
    private static final VectorSpecies<Float> FLOATS = RowKernel.FLOATS;
    /** The lanes of the logical groups the sums are defined on. */
    private static final int L = 8;
    private static final int PASS = RowKernel.PASS;
    private static final ValueLayout.OfFloat SEG_F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private VectorMath() {}

    /** Σ a[aOff+i]·b[bOff+i] over i < n, in a fixed order: 8 lanes of FMA over 2 accumulators, then lanes, then tail. */
    public static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        float[] lanes = new float[L];
        int whole = n & ~(L - 1);
        for (int l0 = 0; l0 < L; l0 += PASS) {
            FloatVector acc0 = FloatVector.zero(FLOATS), acc1 = acc0;
            int i = 0;
            for (; i + 2 * L <= n; i += 2 * L) {
                acc0 = FloatVector.fromArray(FLOATS, a, aOff + i + l0).fma(FloatVector.fromArray(FLOATS, b, bOff + i + l0), acc0);
                acc1 = FloatVector.fromArray(FLOATS, a, aOff + i + L + l0).fma(FloatVector.fromArray(FLOATS, b, bOff + i + L + l0), acc1);
            }
            for (; i + L <= n; i += L) {
                acc0 = FloatVector.fromArray(FLOATS, a, aOff + i + l0).fma(FloatVector.fromArray(FLOATS, b, bOff + i + l0), acc0);
            }
            acc0.add(acc1).intoArray(lanes, l0);
        }
        float sum = sumLanes(lanes, 0);
        for (int i = whole; i < n; i++) sum += a[aOff + i] * b[bOff + i];
        return sum;
    }

    /** Like {@link #dot(float[], int, float[], int, int)} with {@code a} read as little-endian f32 from a segment. */
    public static float dot(MemorySegment a, long aByteOff, float[] b, int bOff, int n) {
        float[] lanes = new float[L];
        int whole = n & ~(L - 1);
        for (int l0 = 0; l0 < L; l0 += PASS) {
            FloatVector acc0 = FloatVector.zero(FLOATS), acc1 = acc0;
            int i = 0;
            for (; i + 2 * L <= n; i += 2 * L) {
                acc0 = FloatVector.fromMemorySegment(FLOATS, a, aByteOff + 4L * (i + l0), ByteOrder.LITTLE_ENDIAN)
                        .fma(FloatVector.fromArray(FLOATS, b, bOff + i + l0), acc0);
                acc1 = FloatVector.fromMemorySegment(FLOATS, a, aByteOff + 4L * (i + L + l0), ByteOrder.LITTLE_ENDIAN)
                        .fma(FloatVector.fromArray(FLOATS, b, bOff + i + L + l0), acc1);
            }
            for (; i + L <= n; i += L) {
                acc0 = FloatVector.fromMemorySegment(FLOATS, a, aByteOff + 4L * (i + l0), ByteOrder.LITTLE_ENDIAN)
                        .fma(FloatVector.fromArray(FLOATS, b, bOff + i + l0), acc0);
            }
            acc0.add(acc1).intoArray(lanes, l0);
        }
        float sum = sumLanes(lanes, 0);
        for (int i = whole; i < n; i++) sum += a.get(SEG_F32, aByteOff + 4L * i) * b[bOff + i];
        return sum;
    }

    /**
     * The sum of 8 lanes stored at {@code lanes[off ..)} in a fixed pairwise order. {@code reduceLanes(ADD)} is not
     * used on purpose: its order differs between the JIT's intrinsic and the interpreter's fallback, so the same
     * dot product could round differently before and after warm-up, or on another node of the cluster.
     */
    public static float sumLanes(float[] lanes, int off) {
        return ((lanes[off] + lanes[off + 1]) + (lanes[off + 2] + lanes[off + 3]))
                + ((lanes[off + 4] + lanes[off + 5]) + (lanes[off + 6] + lanes[off + 7]));
    }

    /**
     * The attention scores of one query head against a tile of 8 cached keys: {@code out[outOff + p] =
     * scale · Σ_d q[qOff + d] · tile[tileOff + 8d + p]} for p < 8, the tile holding the keys component by
     * component (8 positions per component, so the 8 scores come out as one vector and no lane sum is needed).
     * Fixed order, per position: 4 chains {@code a_m = fma(k_d, q_d, a_m)} over the components d ≡ m (mod 4)
     * in ascending order (components past the last multiple of 4 continue chain 0), then
     * {@code ((a_0 + a_1) + (a_2 + a_3)) · scale}.
     */
    public static void scoreTile(float[] tile, int tileOff, float[] q, int qOff, int n, float scale, float[] out, int outOff) {
        for (int l0 = 0; l0 < L; l0 += PASS) {
            FloatVector a0 = FloatVector.zero(FLOATS), a1 = a0, a2 = a0, a3 = a0;
            int d = 0;
            for (; d + 4 <= n; d += 4) {
                int t = tileOff + L * d + l0;
                a0 = FloatVector.fromArray(FLOATS, tile, t).fma(FloatVector.broadcast(FLOATS, q[qOff + d]), a0);
                a1 = FloatVector.fromArray(FLOATS, tile, t + L).fma(FloatVector.broadcast(FLOATS, q[qOff + d + 1]), a1);
                a2 = FloatVector.fromArray(FLOATS, tile, t + 2 * L).fma(FloatVector.broadcast(FLOATS, q[qOff + d + 2]), a2);
                a3 = FloatVector.fromArray(FLOATS, tile, t + 3 * L).fma(FloatVector.broadcast(FLOATS, q[qOff + d + 3]), a3);
            }
            for (; d < n; d++) a0 = FloatVector.fromArray(FLOATS, tile, tileOff + L * d + l0).fma(FloatVector.broadcast(FLOATS, q[qOff + d]), a0);
            a0.add(a1).add(a2.add(a3)).mul(scale).intoArray(out, outOff + l0);
        }
    }

    /**
     * The weighted sum of attention values: for each component {@code d < n},
     * {@code out[outOff + d] = fma(v[vOff + j·stride + d], p[pOff + j], out[outOff + d])} for rows
     * {@code j = 0 .. rows − 1} in that order — what adding the rows one at a time would compute, with 32
     * components held in registers across the rows instead of loaded and stored per row.
     */
    public static void addWeightedRows(float[] v, int vOff, int stride, int rows, float[] p, int pOff,
                                       float[] out, int outOff, int n) {
        int d = 0, V = PASS; // each component on its own: any vector width gives the same bits
        for (; d + 4 * V <= n; d += 4 * V) {
            int o = outOff + d;
            FloatVector o0 = FloatVector.fromArray(FLOATS, out, o), o1 = FloatVector.fromArray(FLOATS, out, o + V);
            FloatVector o2 = FloatVector.fromArray(FLOATS, out, o + 2 * V), o3 = FloatVector.fromArray(FLOATS, out, o + 3 * V);
            for (int j = 0, r = vOff + d; j < rows; j++, r += stride) {
                FloatVector pj = FloatVector.broadcast(FLOATS, p[pOff + j]);
                o0 = FloatVector.fromArray(FLOATS, v, r).fma(pj, o0);
                o1 = FloatVector.fromArray(FLOATS, v, r + V).fma(pj, o1);
                o2 = FloatVector.fromArray(FLOATS, v, r + 2 * V).fma(pj, o2);
                o3 = FloatVector.fromArray(FLOATS, v, r + 3 * V).fma(pj, o3);
            }
            o0.intoArray(out, o);
            o1.intoArray(out, o + V);
            o2.intoArray(out, o + 2 * V);
            o3.intoArray(out, o + 3 * V);
        }
        for (; d + V <= n; d += V) {
            FloatVector o0 = FloatVector.fromArray(FLOATS, out, outOff + d);
            for (int j = 0, r = vOff + d; j < rows; j++, r += stride) {
                o0 = FloatVector.fromArray(FLOATS, v, r).fma(FloatVector.broadcast(FLOATS, p[pOff + j]), o0);
            }
            o0.intoArray(out, outOff + d);
        }
        for (; d < n; d++) {
            float o = out[outOff + d];
            for (int j = 0; j < rows; j++) o = Math.fma(p[pOff + j], v[vOff + j * stride + d], o);
            out[outOff + d] = o;
        }
    }

    // exp(x) = 2^n · e^r with n = round(x · log2 e), r = x − n · ln 2 (in two parts, Cody–Waite), and e^r by its
    // Taylor polynomial of degree 7 on |r| ≤ ln2 / 2 (truncation error < 1e-8 relative)
    private static final float LOG2E = 1.44269504f, ROUND = 12582912f; // 1.5 · 2^23: adding it rounds to an integer
    private static final float LN2_HI = 0.693145752f, LN2_LO = 1.42860677e-6f;
    private static final float C2 = 1f / 2, C3 = 1f / 6, C4 = 1f / 24, C5 = 1f / 120, C6 = 1f / 720, C7 = 1f / 5040;
    /** Below this e^x is under float's smallest normal; inputs are clamped to it (softmax terms that small vanish anyway). */
    private static final float EXP_MIN = -87.3365f; // ≈ ln(Float.MIN_NORMAL): keeps 2^n normal

    /**
     * {@code s[i] = exp(s[i] − max)} for {@code i < n}, returning their sum: the softmax numerators. exp is a
     * fixed sequence of IEEE operations (within 3 ulp of {@link Math#exp}), the same in the vector lanes and in
     * the scalar tail, so results never depend on the lane an element falls in, on the JIT, or on the machine.
     * The sum: 8 lanes over the whole groups of 8, {@link #sumLanes}, then the tail in order.
     */
    public static float expShiftedSum(float[] s, int n, float max) {
        float[] lanes = new float[L];
        int whole = n & ~(L - 1);
        for (int l0 = 0; l0 < L; l0 += PASS) {
            FloatVector acc = FloatVector.zero(FLOATS), vmax = FloatVector.broadcast(FLOATS, max);
            for (int i = l0; i < whole; i += L) {
                FloatVector x = FloatVector.fromArray(FLOATS, s, i).sub(vmax).max(EXP_MIN);
                FloatVector k = x.mul(LOG2E).add(ROUND).sub(ROUND);
                FloatVector r = k.fma(FloatVector.broadcast(FLOATS, -LN2_HI), x);
                r = k.fma(FloatVector.broadcast(FLOATS, -LN2_LO), r);
                FloatVector p = FloatVector.broadcast(FLOATS, C7).fma(r, FloatVector.broadcast(FLOATS, C6)).fma(r, FloatVector.broadcast(FLOATS, C5))
                        .fma(r, FloatVector.broadcast(FLOATS, C4)).fma(r, FloatVector.broadcast(FLOATS, C3)).fma(r, FloatVector.broadcast(FLOATS, C2))
                        .fma(r, FloatVector.broadcast(FLOATS, 1f)).fma(r, FloatVector.broadcast(FLOATS, 1f));
                FloatVector scale = (FloatVector) ((IntVector) k.convertShape(VectorOperators.F2I, RowKernel.INTS, 0)).add(127).lanewise(VectorOperators.LSHL, 23).reinterpretShape(FLOATS, 0);
                FloatVector e = p.mul(scale);
                e.intoArray(s, i);
                acc = acc.add(e);
            }
            acc.intoArray(lanes, l0);
        }
        float sum = sumLanes(lanes, 0);
        for (int i = whole; i < n; i++) {
            float e = exp(s[i] - max);
            s[i] = e;
            sum += e;
        }
        return sum;
    }

    /** The scalar form of {@link #expShiftedSum}'s exp, operation for operation. */
    static float exp(float x) {
        x = Math.max(x, EXP_MIN);
        float k = x * LOG2E + ROUND - ROUND;
        float r = Math.fma(k, -LN2_LO, Math.fma(k, -LN2_HI, x));
        float p = Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(C7, r, C6), r, C5), r, C4), r, C3), r, C2), r, 1f), r, 1f);
        return p * Float.intBitsToFloat(((int) k + 127) << 23);
    }

    /**
     * {@code dst[dOff+i] = fp16 src[sOff+i]} widened to f32 for i < n (exact). A plain loop on purpose: C2
     * compiles it to the CPU's vector fp16 conversion ({@code vcvtph2ps}), as fast as any Vector API version.
     */
    public static void widenF16(short[] src, int sOff, float[] dst, int dOff, int n) {
        for (int i = 0; i < n; i++) dst[dOff + i] = Float.float16ToFloat(src[sOff + i]);
    }
}
