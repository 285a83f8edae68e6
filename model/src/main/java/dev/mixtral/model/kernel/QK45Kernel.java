package dev.mixtral.model.kernel;

import dev.mixtral.model.tensor.BlockQ4_K;
import dev.mixtral.model.tensor.BlockQ5_K;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;

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

    private static int scale(byte[] w, int blk, int j) {
        int s = blk + BlockQ4_K.SCALES;
        if (j < 4) return w[s + j] & 63;
        return (w[s + j + 4] & 0x0F)
                | ((w[s + j - 4] & 0xC0) >>> 2);
    }

    private static int min(byte[] w, int blk, int j) {
        int s = blk + BlockQ4_K.SCALES;
        if (j < 4) return w[s + j + 4] & 63;
        return ((w[s + j + 4] & 0xF0) >>> 4)
                | ((w[s + j] & 0xC0) >>> 2);
    }

    /** Sub-block {@code j}'s scale {@code d·sc}. */
    private static float scaleOf(byte[] w, int blk, int j) {
        return f16(w, blk + BlockQ4_K.D) * scale(w, blk, j);
    }

    /** Sub-block {@code j}'s offset {@code −dmin·m}. */
    private static float offsetOf(byte[] w, int blk, int j) {
        return -(f16(w, blk + BlockQ4_K.DMIN) * min(w, blk, j));
    }

    /**
     * Two 2-row passes: one 4-row body is too many Vector API nodes for C2's parse budget, past which it
     * stops inlining and boxes vectors. A pair's result does not depend on its neighbours.
     */
    @Override
    public void rows4(byte[] w, int p0, int p1, int p2, int p3, float[] x, int xo, int cols, float[] lanes) {
        rows2(w, p0, p1, x, xo, cols, lanes, 0);
        rows2(w, p2, p3, x, xo, cols, lanes, 16);
    }

    private void rows2(byte[] w, int p0, int p1, float[] x, int xo, int cols, float[] lanes, int lo) {
        FloatVector a0 = FloatVector.zero(F8), a1 = a0;
        int blocks = cols / BlockQ4_K.VALUES;
        for (int b = 0; b < blocks; b++) {
            int b0 = p0 + b * bytes, b1 = p1 + b * bytes;
            for (int j = 0; j < 8; j++) {
                FloatVector s0 = FloatVector.broadcast(F8, scaleOf(w, b0, j)), m0 = FloatVector.broadcast(F8, offsetOf(w, b0, j));
                FloatVector s1 = FloatVector.broadcast(F8, scaleOf(w, b1, j)), m1 = FloatVector.broadcast(F8, offsetOf(w, b1, j));
                int c = xo + 256 * b + 32 * j;
                for (int g = 0; g < 4; g++) {
                    int o = qs + 32 * (j >> 1) + 8 * g;
                    IntVector v0 = (IntVector) ByteVector.fromArray(B8, w, b0 + o).convertShape(UB2I, I8, 0);
                    IntVector v1 = (IntVector) ByteVector.fromArray(B8, w, b1 + o).convertShape(UB2I, I8, 0);
                    if ((j & 1) == 0) {
                        v0 = v0.and(0x0F);
                        v1 = v1.and(0x0F);
                    } else {
                        v0 = v0.lanewise(LSHR, 4);
                        v1 = v1.lanewise(LSHR, 4);
                    }
                    if (q5) { // fifth bit: bit j of qh[8g ..], moved to bit 4
                        IntVector h0 = (IntVector) ByteVector.fromArray(B8, w, b0 + BlockQ5_K.QH + 8 * g).convertShape(UB2I, I8, 0);
                        IntVector h1 = (IntVector) ByteVector.fromArray(B8, w, b1 + BlockQ5_K.QH + 8 * g).convertShape(UB2I, I8, 0);
                        v0 = v0.or(h0.lanewise(LSHL, 4).lanewise(LSHR, j).and(16));
                        v1 = v1.or(h1.lanewise(LSHL, 4).lanewise(LSHR, j).and(16));
                    }
                    FloatVector w0 = ((FloatVector) v0.convertShape(I2F, F8, 0)).fma(s0, m0);
                    FloatVector w1 = ((FloatVector) v1.convertShape(I2F, F8, 0)).fma(s1, m1);
                    FloatVector xv = FloatVector.fromArray(F8, x, c + 8 * g);
                    a0 = w0.fma(xv, a0);
                    a1 = w1.fma(xv, a1);
                }
            }
        }
        a0.intoArray(lanes, lo);
        a1.intoArray(lanes, lo + 8);
    }

    @Override
    public void tile2x4(byte[] w, int p0, int p1, float[] x, int x0, int x1, int x2, int x3,
                        int cols, float[] lanes) {
        FloatVector a00 = FloatVector.zero(F8), a01 = a00, a02 = a00, a03 = a00;
        FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        int blocks = cols / BlockQ4_K.VALUES;
        for (int b = 0; b < blocks; b++) {
            int q = b * bytes;
            int b0 = p0 + q, b1 = p1 + q;
            for (int j = 0; j < 8; j++) {
                FloatVector s0 = FloatVector.broadcast(F8, scaleOf(w, b0, j)), m0 = FloatVector.broadcast(F8, offsetOf(w, b0, j));
                FloatVector s1 = FloatVector.broadcast(F8, scaleOf(w, b1, j)), m1 = FloatVector.broadcast(F8, offsetOf(w, b1, j));
                for (int g = 0; g < 4; g++) {
                    int c = 256 * b + 32 * j + 8 * g;
                    int o = qs + 32 * (j >> 1) + 8 * g;
                    IntVector v0 = (IntVector) ByteVector.fromArray(B8, w, b0 + o).convertShape(UB2I, I8, 0);
                    IntVector v1 = (IntVector) ByteVector.fromArray(B8, w, b1 + o).convertShape(UB2I, I8, 0);
                    if ((j & 1) == 0) {
                        v0 = v0.and(0x0F);
                        v1 = v1.and(0x0F);
                    } else {
                        v0 = v0.lanewise(LSHR, 4);
                        v1 = v1.lanewise(LSHR, 4);
                    }
                    if (q5) { // fifth bit: bit j of qh[8g ..], moved to bit 4
                        IntVector h0 = (IntVector) ByteVector.fromArray(B8, w, b0 + BlockQ5_K.QH + 8 * g).convertShape(UB2I, I8, 0);
                        IntVector h1 = (IntVector) ByteVector.fromArray(B8, w, b1 + BlockQ5_K.QH + 8 * g).convertShape(UB2I, I8, 0);
                        v0 = v0.or(h0.lanewise(LSHL, 4).lanewise(LSHR, j).and(16));
                        v1 = v1.or(h1.lanewise(LSHL, 4).lanewise(LSHR, j).and(16));
                    }
                    FloatVector w0 = ((FloatVector) v0.convertShape(I2F, F8, 0)).fma(s0, m0);
                    FloatVector w1 = ((FloatVector) v1.convertShape(I2F, F8, 0)).fma(s1, m1);
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
        a00.intoArray(lanes, 0);
        a01.intoArray(lanes, 8);
        a02.intoArray(lanes, 16);
        a03.intoArray(lanes, 24);
        a10.intoArray(lanes, 32);
        a11.intoArray(lanes, 40);
        a12.intoArray(lanes, 48);
        a13.intoArray(lanes, 56);
    }
}
