package dev.mixtral.model.kernel;

import dev.mixtral.model.tensor.BlockQ4_0;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;

/**
 * Q4_0 rows (blocks of 32: fp16 scale d, 16 bytes whose low nibbles are values 0..15 and high nibbles
 * 16..31). Groups in the order the bytes give them: values 0-7, 16-23, 8-15, 24-31. A weight is {@code fma(q, d, −8d)}, which equals {@code (q − 8)·d}
 * exactly: the exact result needs at most 4 + 11 significant bits, so the single rounding changes nothing.
 */
final class Q4_0Kernel extends RowKernel {
    private static final int BYTES = BlockQ4_0.BYTES, QS = BlockQ4_0.QS;

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
        int blocks = cols / BlockQ4_0.VALUES;
        for (int b = 0; b < blocks; b++) {
            int b0 = p0 + b * BYTES, b1 = p1 + b * BYTES;
            float s0 = f16(w, b0), s1 = f16(w, b1);
            FloatVector d0 = FloatVector.broadcast(F8, s0), m0 = FloatVector.broadcast(F8, -8 * s0);
            FloatVector d1 = FloatVector.broadcast(F8, s1), m1 = FloatVector.broadcast(F8, -8 * s1);
            // bytes 0-7 hold values 0-7 and 16-23, bytes 8-15 values 8-15 and 24-31
            for (int half = 0; half < 2; half++) {
                int c = xo + 32 * b + 8 * half;
                IntVector v0 = (IntVector) ByteVector.fromArray(B8, w, b0 + QS + 8 * half).convertShape(UB2I, I8, 0), v1 = (IntVector) ByteVector.fromArray(B8, w, b1 + QS + 8 * half).convertShape(UB2I, I8, 0);
                FloatVector xv = FloatVector.fromArray(F8, x, c);
                a0 = ((FloatVector) v0.and(0x0F).convertShape(I2F, F8, 0)).fma(d0, m0).fma(xv, a0);
                a1 = ((FloatVector) v1.and(0x0F).convertShape(I2F, F8, 0)).fma(d1, m1).fma(xv, a1);
                xv = FloatVector.fromArray(F8, x, c + 16);
                a0 = ((FloatVector) v0.lanewise(LSHR, 4).convertShape(I2F, F8, 0)).fma(d0, m0).fma(xv, a0);
                a1 = ((FloatVector) v1.lanewise(LSHR, 4).convertShape(I2F, F8, 0)).fma(d1, m1).fma(xv, a1);
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
        int blocks = cols / BlockQ4_0.VALUES;
        for (int b = 0; b < blocks; b++) {
            int q = b * BYTES;
            int b0 = p0 + q, b1 = p1 + q;
            float s0 = f16(w, b0), s1 = f16(w, b1);
            FloatVector d0 = FloatVector.broadcast(F8, s0), m0 = FloatVector.broadcast(F8, -8 * s0);
            FloatVector d1 = FloatVector.broadcast(F8, s1), m1 = FloatVector.broadcast(F8, -8 * s1);
            // the same group order as rows4: values 0-7, 16-23, 8-15, 24-31
            for (int half = 0; half < 2; half++) {
                int c = 32 * b + 8 * half;
                IntVector v0 = (IntVector) ByteVector.fromArray(B8, w, b0 + QS + 8 * half).convertShape(UB2I, I8, 0);
                IntVector v1 = (IntVector) ByteVector.fromArray(B8, w, b1 + QS + 8 * half).convertShape(UB2I, I8, 0);
                FloatVector w0 = ((FloatVector) v0.and(0x0F).convertShape(I2F, F8, 0)).fma(d0, m0);
                FloatVector w1 = ((FloatVector) v1.and(0x0F).convertShape(I2F, F8, 0)).fma(d1, m1);
                FloatVector xv;
                xv = FloatVector.fromArray(F8, x, x0 + c);
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
                c += 16;
                w0 = ((FloatVector) v0.lanewise(LSHR, 4).convertShape(I2F, F8, 0)).fma(d0, m0);
                w1 = ((FloatVector) v1.lanewise(LSHR, 4).convertShape(I2F, F8, 0)).fma(d1, m1);
                xv = FloatVector.fromArray(F8, x, x0 + c);
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
