package dev.mixtral.model.kernel;

import dev.mixtral.model.tensor.BlockQ4_0;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;

/**
 * Q4_0 rows (blocks of 32: fp16 scale d, 16 bytes whose low nibbles are values 0..15 and high nibbles
 * 16..31). The block scale is factored out of the block's dot product: the nibbles, widened to ints, become the
 * exact small integers {@code q − 8} (−8..7), then f32 (exact), and take one FMA per weight.
 * The rule, for one (row, token) pair, in every kernel shape ({@link #rows4}, {@link #tile2x4}):
 * <pre>
 *   acc = 0 (8 lanes)
 *   for each block b in column order, with its 4 groups in the order the bytes give them — values
 *   0-7, 16-23, 8-15, 24-31 — as (q_g − 8) in f32 and the matching activations x_g:
 *     s = 0;  for g = 0, 1, 2, 3:  s = fma(q_g − 8, x_g, s)                                 (lanewise)
 *     acc = fma(s, d_b, acc)                                                                          (lanewise)
 *   result = {@link VectorMath#sumLanes}(acc)
 * </pre>
 * It takes the place of the per-weight order described in {@link RowKernel}; like it, it depends on nothing
 * but the row and the token.
 */
final class Q4_0Kernel extends RowKernel {
    private static final int BYTES = BlockQ4_0.BYTES, QS = BlockQ4_0.QS;

    /**
     * Two 2-row passes: one 4-row body is too many Vector API nodes for C2's parse budget, past which it
     * stops inlining and boxes vectors (a 4-row body of this rule measured ~25% slower). A pair's result
     * does not depend on its neighbours.
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
            FloatVector d0 = FloatVector.broadcast(F8, f16(w, b0)), d1 = FloatVector.broadcast(F8, f16(w, b1));
            FloatVector s0 = FloatVector.zero(F8), s1 = s0;
            // bytes 0-7 hold values 0-7 and 16-23, bytes 8-15 values 8-15 and 24-31
            for (int half = 0; half < 2; half++) {
                int c = xo + 32 * b + 8 * half;
                IntVector v0 = (IntVector) ByteVector.fromArray(B8, w, b0 + QS + 8 * half).convertShape(UB2I, I8, 0);
                IntVector v1 = (IntVector) ByteVector.fromArray(B8, w, b1 + QS + 8 * half).convertShape(UB2I, I8, 0);
                FloatVector xv = FloatVector.fromArray(F8, x, c);
                s0 = ((FloatVector) v0.and(0x0F).sub(8).convertShape(I2F, F8, 0)).fma(xv, s0);
                s1 = ((FloatVector) v1.and(0x0F).sub(8).convertShape(I2F, F8, 0)).fma(xv, s1);
                xv = FloatVector.fromArray(F8, x, c + 16);
                s0 = ((FloatVector) v0.lanewise(LSHR, 4).sub(8).convertShape(I2F, F8, 0)).fma(xv, s0);
                s1 = ((FloatVector) v1.lanewise(LSHR, 4).sub(8).convertShape(I2F, F8, 0)).fma(xv, s1);
            }
            a0 = s0.fma(d0, a0);
            a1 = s1.fma(d1, a1);
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
            FloatVector d0 = FloatVector.broadcast(F8, f16(w, b0)), d1 = FloatVector.broadcast(F8, f16(w, b1));
            FloatVector s00 = FloatVector.zero(F8), s01 = s00, s02 = s00, s03 = s00;
            FloatVector s10 = s00, s11 = s00, s12 = s00, s13 = s00;
            // the same group order as rows4: values 0-7, 16-23, 8-15, 24-31
            for (int half = 0; half < 2; half++) {
                int c = 32 * b + 8 * half;
                IntVector v0 = (IntVector) ByteVector.fromArray(B8, w, b0 + QS + 8 * half).convertShape(UB2I, I8, 0);
                IntVector v1 = (IntVector) ByteVector.fromArray(B8, w, b1 + QS + 8 * half).convertShape(UB2I, I8, 0);
                FloatVector w0 = (FloatVector) v0.and(0x0F).sub(8).convertShape(I2F, F8, 0);
                FloatVector w1 = (FloatVector) v1.and(0x0F).sub(8).convertShape(I2F, F8, 0);
                FloatVector xv = FloatVector.fromArray(F8, x, x0 + c);
                s00 = w0.fma(xv, s00);
                s10 = w1.fma(xv, s10);
                xv = FloatVector.fromArray(F8, x, x1 + c);
                s01 = w0.fma(xv, s01);
                s11 = w1.fma(xv, s11);
                xv = FloatVector.fromArray(F8, x, x2 + c);
                s02 = w0.fma(xv, s02);
                s12 = w1.fma(xv, s12);
                xv = FloatVector.fromArray(F8, x, x3 + c);
                s03 = w0.fma(xv, s03);
                s13 = w1.fma(xv, s13);
                c += 16;
                w0 = (FloatVector) v0.lanewise(LSHR, 4).sub(8).convertShape(I2F, F8, 0);
                w1 = (FloatVector) v1.lanewise(LSHR, 4).sub(8).convertShape(I2F, F8, 0);
                xv = FloatVector.fromArray(F8, x, x0 + c);
                s00 = w0.fma(xv, s00);
                s10 = w1.fma(xv, s10);
                xv = FloatVector.fromArray(F8, x, x1 + c);
                s01 = w0.fma(xv, s01);
                s11 = w1.fma(xv, s11);
                xv = FloatVector.fromArray(F8, x, x2 + c);
                s02 = w0.fma(xv, s02);
                s12 = w1.fma(xv, s12);
                xv = FloatVector.fromArray(F8, x, x3 + c);
                s03 = w0.fma(xv, s03);
                s13 = w1.fma(xv, s13);
            }
            a00 = s00.fma(d0, a00);
            a01 = s01.fma(d0, a01);
            a02 = s02.fma(d0, a02);
            a03 = s03.fma(d0, a03);
            a10 = s10.fma(d1, a10);
            a11 = s11.fma(d1, a11);
            a12 = s12.fma(d1, a12);
            a13 = s13.fma(d1, a13);
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
