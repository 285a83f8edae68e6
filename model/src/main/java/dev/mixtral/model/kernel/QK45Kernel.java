package dev.mixtral.model.kernel;

import static dev.mixtral.model.kernel.VectorMath.sum;

import dev.mixtral.model.tensor.BlockQ4_K;
import dev.mixtral.model.tensor.BlockQ5_K;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/**
 * Q4_K and Q5_K rows (super-blocks of 256 as 8 sub-blocks of 32 with 6-bit scales and mins; layouts in
 * {@link BlockQ4_K} and {@link BlockQ5_K}). Groups in column order. Sub-block {@code j} takes the low nibbles
 * of quant bytes {@code 32·(j/2) ..} for even {@code j} and the high ones for odd {@code j}; Q5_K adds bit
 * {@code j} of the 32 {@code qh} bytes as the fifth bit. A weight is {@code fma(q, d·sc, −dmin·m)}, equal to
 * {@code Dequantize}'s {@code d·sc·q − dmin·m} because {@code d·sc·q} is exact (at most 11 + 6 + 5 bits).
 */
final class QK45Kernel extends RowKernel {
    private final boolean q5;
    private final int bytes, qs;

    QK45Kernel(boolean q5) {
        this.q5 = q5;
        this.bytes = q5 ? BlockQ5_K.BYTES : BlockQ4_K.BYTES;
        this.qs = q5 ? BlockQ5_K.QS : BlockQ4_K.QS;
    }

    // The 12 scale bytes (see BlockQ4_K): j < 4 in bits 0-5 of bytes j (scale) and j+4 (min); j >= 4 in the
    // nibbles of byte j+4, with the top 2 bits in bits 6-7 of bytes j-4 (scale) and j (min).

    private static int scale(MemorySegment w, long blk, int j) {
        long s = blk + BlockQ4_K.SCALES;
        if (j < 4) return w.get(JAVA_BYTE, s + j) & 63;
        return (w.get(JAVA_BYTE, s + j + 4) & 0x0F)
                | ((w.get(JAVA_BYTE, s + j - 4) & 0xC0) >>> 2);
    }

    private static int min(MemorySegment w, long blk, int j) {
        long s = blk + BlockQ4_K.SCALES;
        if (j < 4) return w.get(JAVA_BYTE, s + j + 4) & 63;
        return ((w.get(JAVA_BYTE, s + j + 4) & 0xF0) >>> 4)
                | ((w.get(JAVA_BYTE, s + j) & 0xC0) >>> 2);
    }

    /** Sub-block {@code j}'s scale {@code d·sc} as a vector. */
    private static FloatVector scaleOf(MemorySegment w, long blk, int j) {
        return FloatVector.broadcast(F8, f16(w, blk + BlockQ4_K.D) * scale(w, blk, j));
    }

    /** Sub-block {@code j}'s offset {@code −dmin·m} as a vector. */
    private static FloatVector offsetOf(MemorySegment w, long blk, int j) {
        return FloatVector.broadcast(F8, -(f16(w, blk + BlockQ4_K.DMIN) * min(w, blk, j)));
    }

    /** Group {@code g} (values 8g .. 8g+7) of sub-block {@code j} of the super-block at {@code blk}. */
    private FloatVector group(MemorySegment w, long blk, int j, int g, FloatVector scale, FloatVector offset) {
        IntVector v = unsignedBytes(w, blk + qs + 32 * (j >> 1) + 8 * g);
        IntVector q = (j & 1) == 0 ? v.and(0x0F) : v.lanewise(VectorOperators.LSHR, 4);
        if (q5) {
            IntVector h = unsignedBytes(w, blk + BlockQ5_K.QH + 8 * g);
            q = q.or(h.lanewise(VectorOperators.LSHL, 4).lanewise(VectorOperators.LSHR, j).and(16));
        }
        return toFloats(q).fma(scale, offset);
    }

    @Override
    public void rows4(MemorySegment w, long p0, long p1, long p2, long p3, float[] x, int xo, int cols, float[] out, int o) {
        FloatVector a0 = FloatVector.zero(F8), a1 = a0, a2 = a0, a3 = a0;
        int blocks = cols / BlockQ4_K.VALUES;
        for (int b = 0; b < blocks; b++) {
            long q = (long) b * bytes;
            long b0 = p0 + q, b1 = p1 + q, b2 = p2 + q, b3 = p3 + q;
            for (int j = 0; j < 8; j++) {
                FloatVector s0 = scaleOf(w, b0, j), m0 = offsetOf(w, b0, j);
                FloatVector s1 = scaleOf(w, b1, j), m1 = offsetOf(w, b1, j);
                FloatVector s2 = scaleOf(w, b2, j), m2 = offsetOf(w, b2, j);
                FloatVector s3 = scaleOf(w, b3, j), m3 = offsetOf(w, b3, j);
                int c = xo + 256 * b + 32 * j;
                for (int g = 0; g < 4; g++) {
                    FloatVector xv = FloatVector.fromArray(F8, x, c + 8 * g);
                    a0 = group(w, b0, j, g, s0, m0).fma(xv, a0);
                    a1 = group(w, b1, j, g, s1, m1).fma(xv, a1);
                    a2 = group(w, b2, j, g, s2, m2).fma(xv, a2);
                    a3 = group(w, b3, j, g, s3, m3).fma(xv, a3);
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
        int blocks = cols / BlockQ4_K.VALUES;
        for (int b = 0; b < blocks; b++) {
            long q = (long) b * bytes;
            long b0 = p0 + q, b1 = p1 + q;
            for (int j = 0; j < 8; j++) {
                FloatVector s0 = scaleOf(w, b0, j), m0 = offsetOf(w, b0, j);
                FloatVector s1 = scaleOf(w, b1, j), m1 = offsetOf(w, b1, j);
                for (int g = 0; g < 4; g++) {
                    int c = 256 * b + 32 * j + 8 * g;
                    FloatVector w0 = group(w, b0, j, g, s0, m0), w1 = group(w, b1, j, g, s1, m1);
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
