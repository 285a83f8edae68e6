package dev.mixtral.model.kernel;

import static dev.mixtral.model.kernel.VectorMath.sum;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;

import dev.mixtral.model.tensor.BlockQ6_K;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

/**
 * Q6_K rows (super-blocks of 256 as 16 sub-blocks of 16 with int8 scales; layout in {@link BlockQ6_K}).
 * Groups in column order: value {@code 128·h + 32·k + l} takes the low ({@code k < 2}) or high nibble of
 * {@code ql[64·h + 32·(k & 1) + l]} and bits {@code 2k, 2k+1} of {@code qh[32·h + l]}. A weight is
 * {@code fma(q, s, −32·s)} with {@code s = d·sc} (exact), which rounds {@code s·(q − 32)} once, as
 * {@code Dequantize} does.
 */
final class Q6_KKernel extends RowKernel {
    private static final int BYTES = BlockQ6_K.BYTES;

    /** Sub-block {@code i}'s scale {@code d·sc[i]}. */
    private static float scale(MemorySegment w, long blk, int i) {
        return f16(w, blk + BlockQ6_K.D) * w.get(JAVA_BYTE, blk + BlockQ6_K.SCALES + i);
    }

    /** Group {@code g} (l = 8g .. 8g+7) of values {@code 128h + 32k + l}. */
    private static FloatVector group(MemorySegment w, long blk, int h, int k, int g, FloatVector s, FloatVector m) {
        IntVector ql = unsignedBytes(w, blk + BlockQ6_K.QL + 64 * h + 32 * (k & 1) + 8 * g);
        IntVector qh = unsignedBytes(w, blk + BlockQ6_K.QH + 32 * h + 8 * g);
        IntVector low = k < 2 ? ql.and(0x0F) : ql.lanewise(VectorOperators.LSHR, 4);
        IntVector high = qh.lanewise(VectorOperators.LSHL, 4).lanewise(VectorOperators.LSHR, 2 * k).and(0x30);
        return toFloats(low.or(high)).fma(s, m);
    }

    @Override
    public void rows4(MemorySegment w, long p0, long p1, long p2, long p3, float[] x, int xo, int cols, float[] out, int o) {
        FloatVector a0 = FloatVector.zero(F8), a1 = a0, a2 = a0, a3 = a0;
        int blocks = cols / BlockQ6_K.VALUES;
        for (int b = 0; b < blocks; b++) {
            long q = (long) b * BYTES;
            long b0 = p0 + q, b1 = p1 + q, b2 = p2 + q, b3 = p3 + q;
            for (int i = 0; i < 16; i++) { // sub-block i: values 16i .. 16i+15
                int h = i >> 3, k = (i >> 1) & 3, g0 = 2 * (i & 1);
                float t0 = scale(w, b0, i), t1 = scale(w, b1, i), t2 = scale(w, b2, i), t3 = scale(w, b3, i);
                FloatVector s0 = FloatVector.broadcast(F8, t0), m0 = FloatVector.broadcast(F8, -32 * t0);
                FloatVector s1 = FloatVector.broadcast(F8, t1), m1 = FloatVector.broadcast(F8, -32 * t1);
                FloatVector s2 = FloatVector.broadcast(F8, t2), m2 = FloatVector.broadcast(F8, -32 * t2);
                FloatVector s3 = FloatVector.broadcast(F8, t3), m3 = FloatVector.broadcast(F8, -32 * t3);
                for (int g = g0; g < g0 + 2; g++) {
                    FloatVector xv = FloatVector.fromArray(F8, x, xo + 256 * b + 16 * i + 8 * (g - g0));
                    a0 = group(w, b0, h, k, g, s0, m0).fma(xv, a0);
                    a1 = group(w, b1, h, k, g, s1, m1).fma(xv, a1);
                    a2 = group(w, b2, h, k, g, s2, m2).fma(xv, a2);
                    a3 = group(w, b3, h, k, g, s3, m3).fma(xv, a3);
                }
            }
        }
        out[o] = sum(a0);
        out[o + 1] = sum(a1);
        out[o + 2] = sum(a2);
        out[o + 3] = sum(a3);
    }

    @Override
    public void tile2x4(MemorySegment w, long p0, long p1, float[] x, int x0, int x1, int x2, int x3,
                        int cols, float[] out, int o0, int o1, int o2, int o3) {
        FloatVector a00 = FloatVector.zero(F8), a01 = a00, a02 = a00, a03 = a00;
        FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        int blocks = cols / BlockQ6_K.VALUES;
        for (int b = 0; b < blocks; b++) {
            long q = (long) b * BYTES;
            long b0 = p0 + q, b1 = p1 + q;
            for (int i = 0; i < 16; i++) {
                int h = i >> 3, k = (i >> 1) & 3, g0 = 2 * (i & 1);
                float t0 = scale(w, b0, i), t1 = scale(w, b1, i);
                FloatVector s0 = FloatVector.broadcast(F8, t0), m0 = FloatVector.broadcast(F8, -32 * t0);
                FloatVector s1 = FloatVector.broadcast(F8, t1), m1 = FloatVector.broadcast(F8, -32 * t1);
                for (int g = g0; g < g0 + 2; g++) {
                    int c = 256 * b + 16 * i + 8 * (g - g0);
                    FloatVector w0 = group(w, b0, h, k, g, s0, m0), w1 = group(w, b1, h, k, g, s1, m1);
                    FloatVector xv = FloatVector.fromArray(F8, x, x0 + c);
                    a00 = w0.fma(xv, a00);
                    a10 = w1.fma(xv, a10);
                    xv = FloatVector.fromArray(F8, x, x1 + c);
                    a01 = w0.fma(xv, a01);
                    a11 = w1.fma(xv, a11);
                    xv = FloatVector.fromArray(F8, x, x2 + c);
                    a02 = w0.fma(xv, a02);
                    a12 = w1.fma(xv, a12);
                    xv = FloatVector.fromArray(F8, x, x3 + c);
                    a03 = w0.fma(xv, a03);
                    a13 = w1.fma(xv, a13);
                }
            }
        }
        store(out, o0, o1, o2, o3, sum(a00), sum(a01), sum(a02), sum(a03), sum(a10), sum(a11), sum(a12), sum(a13));
    }
}
