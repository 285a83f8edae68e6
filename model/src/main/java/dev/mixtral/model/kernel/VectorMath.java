package dev.mixtral.model.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * f32 vector primitives. The lane count is fixed at 8 (256 bits) rather than the machine's preferred
 * width so that every machine of a cluster sums in the same order: results then do not depend on
 * where a computation runs.
 */
public final class VectorMath {
    public static final VectorSpecies<Float> F8 = FloatVector.SPECIES_256;
    private static final int L = F8.length();

    private VectorMath() {}

    /** Σ a[aOff+i]·b[bOff+i] over i < n, in a fixed order: 8 lanes of FMA over 2 accumulators, then lanes, then tail. */
    public static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        FloatVector acc0 = FloatVector.zero(F8);
        FloatVector acc1 = FloatVector.zero(F8);
        int i = 0;
        for (; i + 2 * L <= n; i += 2 * L) {
            acc0 = FloatVector.fromArray(F8, a, aOff + i).fma(FloatVector.fromArray(F8, b, bOff + i), acc0);
            acc1 = FloatVector.fromArray(F8, a, aOff + i + L).fma(FloatVector.fromArray(F8, b, bOff + i + L), acc1);
        }
        for (; i + L <= n; i += L) {
            acc0 = FloatVector.fromArray(F8, a, aOff + i).fma(FloatVector.fromArray(F8, b, bOff + i), acc0);
        }
        float sum = sumLanes(acc0.add(acc1));
        for (; i < n; i++) sum += a[aOff + i] * b[bOff + i];
        return sum;
    }

    /** Like {@link #dot(float[], int, float[], int, int)} with {@code a} read as little-endian f32 from a segment. */
    public static float dot(MemorySegment a, long aByteOff, float[] b, int bOff, int n) {
        FloatVector acc0 = FloatVector.zero(F8);
        FloatVector acc1 = FloatVector.zero(F8);
        int i = 0;
        for (; i + 2 * L <= n; i += 2 * L) {
            acc0 = FloatVector.fromMemorySegment(F8, a, aByteOff + 4L * i, ByteOrder.LITTLE_ENDIAN)
                    .fma(FloatVector.fromArray(F8, b, bOff + i), acc0);
            acc1 = FloatVector.fromMemorySegment(F8, a, aByteOff + 4L * (i + L), ByteOrder.LITTLE_ENDIAN)
                    .fma(FloatVector.fromArray(F8, b, bOff + i + L), acc1);
        }
        for (; i + L <= n; i += L) {
            acc0 = FloatVector.fromMemorySegment(F8, a, aByteOff + 4L * i, ByteOrder.LITTLE_ENDIAN)
                    .fma(FloatVector.fromArray(F8, b, bOff + i), acc0);
        }
        float sum = sumLanes(acc0.add(acc1));
        for (; i < n; i++) {
            sum += a.get(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), aByteOff + 4L * i) * b[bOff + i];
        }
        return sum;
    }

    /**
     * The lanes' sum in a fixed pairwise order. {@code reduceLanes(ADD)} is not used on purpose: its
     * order differs between the JIT's intrinsic and the interpreter's fallback, so the same dot product
     * could round differently before and after warm-up, or on another node of the cluster.
     */
    public static float sumLanes(FloatVector v) {
        return ((v.lane(0) + v.lane(1)) + (v.lane(2) + v.lane(3))) + ((v.lane(4) + v.lane(5)) + (v.lane(6) + v.lane(7)));
    }

    /** {@link #sumLanes(FloatVector)} of 8 lanes stored at {@code lanes[off ..)}: the same tree, so the same bits. */
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
        FloatVector a0 = FloatVector.zero(F8), a1 = a0, a2 = a0, a3 = a0;
        int d = 0;
        for (; d + 4 <= n; d += 4) {
            int t = tileOff + L * d;
            a0 = FloatVector.fromArray(F8, tile, t).fma(FloatVector.broadcast(F8, q[qOff + d]), a0);
            a1 = FloatVector.fromArray(F8, tile, t + L).fma(FloatVector.broadcast(F8, q[qOff + d + 1]), a1);
            a2 = FloatVector.fromArray(F8, tile, t + 2 * L).fma(FloatVector.broadcast(F8, q[qOff + d + 2]), a2);
            a3 = FloatVector.fromArray(F8, tile, t + 3 * L).fma(FloatVector.broadcast(F8, q[qOff + d + 3]), a3);
        }
        for (; d < n; d++) a0 = FloatVector.fromArray(F8, tile, tileOff + L * d).fma(FloatVector.broadcast(F8, q[qOff + d]), a0);
        a0.add(a1).add(a2.add(a3)).mul(scale).intoArray(out, outOff);
    }

    /**
     * The weighted sum of attention values: for each component {@code d < n},
     * {@code out[outOff + d] = fma(v[vOff + j·stride + d], p[pOff + j], out[outOff + d])} for rows
     * {@code j = 0 .. rows − 1} in that order — what adding the rows one at a time would compute, with 32
     * components held in registers across the rows instead of loaded and stored per row.
     */
    public static void addWeightedRows(float[] v, int vOff, int stride, int rows, float[] p, int pOff,
                                       float[] out, int outOff, int n) {
        int d = 0;
        for (; d + 4 * L <= n; d += 4 * L) {
            int o = outOff + d;
            FloatVector o0 = FloatVector.fromArray(F8, out, o), o1 = FloatVector.fromArray(F8, out, o + L);
            FloatVector o2 = FloatVector.fromArray(F8, out, o + 2 * L), o3 = FloatVector.fromArray(F8, out, o + 3 * L);
            for (int j = 0, r = vOff + d; j < rows; j++, r += stride) {
                FloatVector pj = FloatVector.broadcast(F8, p[pOff + j]);
                o0 = FloatVector.fromArray(F8, v, r).fma(pj, o0);
                o1 = FloatVector.fromArray(F8, v, r + L).fma(pj, o1);
                o2 = FloatVector.fromArray(F8, v, r + 2 * L).fma(pj, o2);
                o3 = FloatVector.fromArray(F8, v, r + 3 * L).fma(pj, o3);
            }
            o0.intoArray(out, o);
            o1.intoArray(out, o + L);
            o2.intoArray(out, o + 2 * L);
            o3.intoArray(out, o + 3 * L);
        }
        for (; d + L <= n; d += L) {
            FloatVector o0 = FloatVector.fromArray(F8, out, outOff + d);
            for (int j = 0, r = vOff + d; j < rows; j++, r += stride) {
                o0 = FloatVector.fromArray(F8, v, r).fma(FloatVector.broadcast(F8, p[pOff + j]), o0);
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
        FloatVector acc = FloatVector.zero(F8), vmax = FloatVector.broadcast(F8, max);
        int i = 0;
        for (; i + L <= n; i += L) {
            FloatVector x = FloatVector.fromArray(F8, s, i).sub(vmax).max(EXP_MIN);
            FloatVector k = x.mul(LOG2E).add(ROUND).sub(ROUND);
            FloatVector r = k.fma(FloatVector.broadcast(F8, -LN2_HI), x);
            r = k.fma(FloatVector.broadcast(F8, -LN2_LO), r);
            FloatVector p = FloatVector.broadcast(F8, C7).fma(r, FloatVector.broadcast(F8, C6)).fma(r, FloatVector.broadcast(F8, C5))
                    .fma(r, FloatVector.broadcast(F8, C4)).fma(r, FloatVector.broadcast(F8, C3)).fma(r, FloatVector.broadcast(F8, C2))
                    .fma(r, FloatVector.broadcast(F8, 1f)).fma(r, FloatVector.broadcast(F8, 1f));
            FloatVector scale = ((IntVector) k.convert(VectorOperators.F2I, 0)).add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
            FloatVector e = p.mul(scale);
            e.intoArray(s, i);
            acc = acc.add(e);
        }
        float sum = sumLanes(acc);
        for (; i < n; i++) {
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
