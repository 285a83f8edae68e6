package dev.mixtral.model.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShuffle;
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

    // Lane permutations of the fixed reduction tree: swap halves, then pairs, then neighbours.
    private static final VectorShuffle<Float> SWAP4 = VectorShuffle.fromValues(F8, 4, 5, 6, 7, 0, 1, 2, 3);
    private static final VectorShuffle<Float> SWAP2 = VectorShuffle.fromValues(F8, 2, 3, 0, 1, 6, 7, 4, 5);
    private static final VectorShuffle<Float> SWAP1 = VectorShuffle.fromValues(F8, 1, 0, 3, 2, 5, 4, 7, 6);

    private VectorMath() {}

    /**
     * The sum of the 8 lanes as {@code ((v0+v4) + (v2+v6)) + ((v1+v5) + (v3+v7))}. {@code reduceLanes(ADD)} does
     * not fix its order: the JIT's intrinsic adds in a tree while interpreted code adds lane by lane, so the
     * same call could round differently before and after compilation. This tree is made of lane-wise adds,
     * which are exact IEEE operations in every mode.
     */
    public static float sum(FloatVector v) {
        v = v.add(v.rearrange(SWAP4));
        v = v.add(v.rearrange(SWAP2));
        v = v.add(v.rearrange(SWAP1));
        return v.lane(0);
    }

    /** {@link #sum(FloatVector)} of the 8 lanes stored at {@code lanes[off ..)}: the same tree, so the same bits. */
    public static float sum(float[] lanes, int off) {
        float s04 = lanes[off] + lanes[off + 4], s15 = lanes[off + 1] + lanes[off + 5];
        float s26 = lanes[off + 2] + lanes[off + 6], s37 = lanes[off + 3] + lanes[off + 7];
        return (s04 + s26) + (s15 + s37);
    }

    /** Σ a[aOff+i]·b[bOff+i] over i < n, in a fixed order: 8 lanes of FMA over 2 accumulators, then {@link #sum lanes}, then tail. */
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
        float sum = sum(acc0.add(acc1));
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
        float sum = sum(acc0.add(acc1));
        for (; i < n; i++) {
            sum += a.get(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), aByteOff + 4L * i) * b[bOff + i];
        }
        return sum;
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
}
