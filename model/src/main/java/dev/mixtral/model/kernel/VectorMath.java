package dev.mixtral.model.kernel;

import jdk.incubator.vector.FloatVector;
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

    /** y[yOff+i] += s · x[xOff+i]. */
    public static void axpy(float s, float[] x, int xOff, float[] y, int yOff, int n) {
        int i = 0;
        FloatVector vs = FloatVector.broadcast(F8, s);
        for (; i + L <= n; i += L) {
            FloatVector.fromArray(F8, x, xOff + i).fma(vs, FloatVector.fromArray(F8, y, yOff + i)).intoArray(y, yOff + i);
        }
        for (; i < n; i++) y[yOff + i] = Math.fma(s, x[xOff + i], y[yOff + i]);
    }

    /**
     * {@code dst[dOff+i] = fp16 src[sOff+i]} widened to f32 for i < n (exact). A plain loop on purpose: C2
     * compiles it to the CPU's vector fp16 conversion ({@code vcvtph2ps}), as fast as any Vector API version.
     */
    public static void widenF16(short[] src, int sOff, float[] dst, int dOff, int n) {
        for (int i = 0; i < n; i++) dst[dOff + i] = Float.float16ToFloat(src[sOff + i]);
    }
}
