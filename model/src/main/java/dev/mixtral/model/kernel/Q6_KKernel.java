package dev.mixtral.model.kernel;

import dev.mixtral.model.tensor.BlockQ6_K;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;

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
    private static float scale(byte[] w, int blk, int i) {
        return f16(w, blk + BlockQ6_K.D) * w[blk + BlockQ6_K.SCALES + i];
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

    private static void rows2(byte[] w, int p0, int p1, float[] x, int xo, int cols, float[] lanes, int lo) {
        FloatVector a0 = FloatVector.zero(F8), a1 = a0;
        int blocks = cols / BlockQ6_K.VALUES;
        for (int b = 0; b < blocks; b++) {
            int b0 = p0 + b * BYTES, b1 = p1 + b * BYTES;
            for (int i = 0; i < 16; i++) { // sub-block i: values 16i .. 16i+15
                int h = i >> 3, k = (i >> 1) & 3, g0 = 2 * (i & 1);
                float t0 = scale(w, b0, i), t1 = scale(w, b1, i);
                FloatVector s0 = FloatVector.broadcast(F8, t0), m0 = FloatVector.broadcast(F8, -32 * t0);
                FloatVector s1 = FloatVector.broadcast(F8, t1), m1 = FloatVector.broadcast(F8, -32 * t1);
                for (int g = g0; g < g0 + 2; g++) {
                    int ol = BlockQ6_K.QL + 64 * h + 32 * (k & 1) + 8 * g, oh = BlockQ6_K.QH + 32 * h + 8 * g;
                    IntVector l0 = (IntVector) ByteVector.fromArray(B8, w, b0 + ol).convertShape(UB2I, I8, 0);
                    IntVector l1 = (IntVector) ByteVector.fromArray(B8, w, b1 + ol).convertShape(UB2I, I8, 0);
                    IntVector h0 = (IntVector) ByteVector.fromArray(B8, w, b0 + oh).convertShape(UB2I, I8, 0);
                    IntVector h1 = (IntVector) ByteVector.fromArray(B8, w, b1 + oh).convertShape(UB2I, I8, 0);
                    if (k < 2) {
                        l0 = l0.and(0x0F);
                        l1 = l1.and(0x0F);
                    } else {
                        l0 = l0.lanewise(LSHR, 4);
                        l1 = l1.lanewise(LSHR, 4);
                    }
                    // bits 2k, 2k+1 of qh to bits 4, 5
                    l0 = l0.or(h0.lanewise(LSHL, 4).lanewise(LSHR, 2 * k).and(0x30));
                    l1 = l1.or(h1.lanewise(LSHL, 4).lanewise(LSHR, 2 * k).and(0x30));
                    FloatVector w0 = ((FloatVector) l0.convertShape(I2F, F8, 0)).fma(s0, m0);
                    FloatVector w1 = ((FloatVector) l1.convertShape(I2F, F8, 0)).fma(s1, m1);
                    FloatVector xv = FloatVector.fromArray(F8, x, xo + 256 * b + 16 * i + 8 * (g - g0));
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
        int blocks = cols / BlockQ6_K.VALUES;
        for (int b = 0; b < blocks; b++) {
            int q = b * BYTES;
            int b0 = p0 + q, b1 = p1 + q;
            for (int i = 0; i < 16; i++) {
                int h = i >> 3, k = (i >> 1) & 3, g0 = 2 * (i & 1);
                float t0 = scale(w, b0, i), t1 = scale(w, b1, i);
                FloatVector s0 = FloatVector.broadcast(F8, t0), m0 = FloatVector.broadcast(F8, -32 * t0);
                FloatVector s1 = FloatVector.broadcast(F8, t1), m1 = FloatVector.broadcast(F8, -32 * t1);
                for (int g = g0; g < g0 + 2; g++) {
                    int c = 256 * b + 16 * i + 8 * (g - g0);
                    int ol = BlockQ6_K.QL + 64 * h + 32 * (k & 1) + 8 * g, oh = BlockQ6_K.QH + 32 * h + 8 * g;
                    IntVector l0 = (IntVector) ByteVector.fromArray(B8, w, b0 + ol).convertShape(UB2I, I8, 0);
                    IntVector l1 = (IntVector) ByteVector.fromArray(B8, w, b1 + ol).convertShape(UB2I, I8, 0);
                    IntVector h0 = (IntVector) ByteVector.fromArray(B8, w, b0 + oh).convertShape(UB2I, I8, 0);
                    IntVector h1 = (IntVector) ByteVector.fromArray(B8, w, b1 + oh).convertShape(UB2I, I8, 0);
                    if (k < 2) {
                        l0 = l0.and(0x0F);
                        l1 = l1.and(0x0F);
                    } else {
                        l0 = l0.lanewise(LSHR, 4);
                        l1 = l1.lanewise(LSHR, 4);
                    }
                    // bits 2k, 2k+1 of qh to bits 4, 5
                    l0 = l0.or(h0.lanewise(LSHL, 4).lanewise(LSHR, 2 * k).and(0x30));
                    l1 = l1.or(h1.lanewise(LSHL, 4).lanewise(LSHR, 2 * k).and(0x30));
                    FloatVector w0 = ((FloatVector) l0.convertShape(I2F, F8, 0)).fma(s0, m0);
                    FloatVector w1 = ((FloatVector) l1.convertShape(I2F, F8, 0)).fma(s1, m1);
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
