package dev.mixtral.model.kernel;

import dev.mixtral.model.tensor.BlockQ5_K;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;

/**
 * Q5_K rows: {@link Q4_KKernel}'s walk and weight rule (same scales, same nibbles in {@code qs}, see
 * {@link BlockQ5_K}) plus a fifth bit, bit {@code j} of the 32 {@code qh} bytes for sub-block {@code j} ({@code d·sc·q}
 * stays exact: at most 11 + 6 + 5 bits). Its own
 * class, not a flag of Q4_K's: C2 compiles each kernel body once for every caller, so a flag tested in the loop
 * stays a test per group (measured 5-14% on Q4_K).
 */
final class Q5_KKernel extends RowKernel {
    private static final int BYTES = BlockQ5_K.BYTES, QS = BlockQ5_K.QS, QH = BlockQ5_K.QH;

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
        int blocks = cols / BlockQ5_K.VALUES;
        for (int b = 0; b < blocks; b++) {
            int b0 = p0 + b * BYTES, b1 = p1 + b * BYTES;
            float d0 = f16(w, b0 + BlockQ5_K.D), n0 = -f16(w, b0 + BlockQ5_K.DMIN);
            float d1 = f16(w, b1 + BlockQ5_K.D), n1 = -f16(w, b1 + BlockQ5_K.DMIN);
            long sc0 = KScales.scales(w, b0), mn0 = KScales.mins(w, b0);
            long sc1 = KScales.scales(w, b1), mn1 = KScales.mins(w, b1);
            for (int p = 0; p < 4; p++) {
                int s0 = (int) (sc0 >>> 16 * p), m0 = (int) (mn0 >>> 16 * p);
                int s1 = (int) (sc1 >>> 16 * p), m1 = (int) (mn1 >>> 16 * p);
                int c = xo + 256 * b + 64 * p, o = QS + 32 * p;
                // sub-block 2p: low nibbles
                FloatVector k0 = FloatVector.broadcast(F8, d0 * (s0 & 0xFF)), z0 = FloatVector.broadcast(F8, n0 * (m0 & 0xFF));
                FloatVector k1 = FloatVector.broadcast(F8, d1 * (s1 & 0xFF)), z1 = FloatVector.broadcast(F8, n1 * (m1 & 0xFF));
                for (int g = 0; g < 4; g++) {
                    IntVector v0 = (IntVector) ByteVector.fromArray(B8, w, b0 + o + 8 * g).convertShape(UB2I, I8, 0);
                    IntVector v1 = (IntVector) ByteVector.fromArray(B8, w, b1 + o + 8 * g).convertShape(UB2I, I8, 0);
                    IntVector h0 = (IntVector) ByteVector.fromArray(B8, w, b0 + QH + 8 * g).convertShape(UB2I, I8, 0);
                    IntVector h1 = (IntVector) ByteVector.fromArray(B8, w, b1 + QH + 8 * g).convertShape(UB2I, I8, 0);
                    v0 = v0.and(0x0F).or(h0.lanewise(LSHL, 4).lanewise(LSHR, 2 * p).and(16)); // bit j of qh, moved to bit 4
                    v1 = v1.and(0x0F).or(h1.lanewise(LSHL, 4).lanewise(LSHR, 2 * p).and(16));
                    FloatVector xv = FloatVector.fromArray(F8, x, c + 8 * g);
                    a0 = ((FloatVector) v0.convertShape(I2F, F8, 0)).fma(k0, z0).fma(xv, a0);
                    a1 = ((FloatVector) v1.convertShape(I2F, F8, 0)).fma(k1, z1).fma(xv, a1);
                }
                // sub-block 2p + 1: high nibbles
                k0 = FloatVector.broadcast(F8, d0 * (s0 >>> 8 & 0xFF));
                z0 = FloatVector.broadcast(F8, n0 * (m0 >>> 8 & 0xFF));
                k1 = FloatVector.broadcast(F8, d1 * (s1 >>> 8 & 0xFF));
                z1 = FloatVector.broadcast(F8, n1 * (m1 >>> 8 & 0xFF));
                for (int g = 0; g < 4; g++) {
                    IntVector v0 = (IntVector) ByteVector.fromArray(B8, w, b0 + o + 8 * g).convertShape(UB2I, I8, 0);
                    IntVector v1 = (IntVector) ByteVector.fromArray(B8, w, b1 + o + 8 * g).convertShape(UB2I, I8, 0);
                    IntVector h0 = (IntVector) ByteVector.fromArray(B8, w, b0 + QH + 8 * g).convertShape(UB2I, I8, 0);
                    IntVector h1 = (IntVector) ByteVector.fromArray(B8, w, b1 + QH + 8 * g).convertShape(UB2I, I8, 0);
                    v0 = v0.lanewise(LSHR, 4).or(h0.lanewise(LSHL, 4).lanewise(LSHR, 2 * p + 1).and(16)); // bit j of qh, moved to bit 4
                    v1 = v1.lanewise(LSHR, 4).or(h1.lanewise(LSHL, 4).lanewise(LSHR, 2 * p + 1).and(16));
                    FloatVector xv = FloatVector.fromArray(F8, x, c + 32 + 8 * g);
                    a0 = ((FloatVector) v0.convertShape(I2F, F8, 0)).fma(k0, z0).fma(xv, a0);
                    a1 = ((FloatVector) v1.convertShape(I2F, F8, 0)).fma(k1, z1).fma(xv, a1);
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
        int blocks = cols / BlockQ5_K.VALUES;
        for (int b = 0; b < blocks; b++) {
            int b0 = p0 + b * BYTES, b1 = p1 + b * BYTES;
            float d0 = f16(w, b0 + BlockQ5_K.D), n0 = -f16(w, b0 + BlockQ5_K.DMIN);
            float d1 = f16(w, b1 + BlockQ5_K.D), n1 = -f16(w, b1 + BlockQ5_K.DMIN);
            long sc0 = KScales.scales(w, b0), mn0 = KScales.mins(w, b0);
            long sc1 = KScales.scales(w, b1), mn1 = KScales.mins(w, b1);
            for (int p = 0; p < 4; p++) {
                int s0 = (int) (sc0 >>> 16 * p), m0 = (int) (mn0 >>> 16 * p);
                int s1 = (int) (sc1 >>> 16 * p), m1 = (int) (mn1 >>> 16 * p);
                int o = QS + 32 * p;
                // sub-block 2p: low nibbles
                FloatVector k0 = FloatVector.broadcast(F8, d0 * (s0 & 0xFF)), z0 = FloatVector.broadcast(F8, n0 * (m0 & 0xFF));
                FloatVector k1 = FloatVector.broadcast(F8, d1 * (s1 & 0xFF)), z1 = FloatVector.broadcast(F8, n1 * (m1 & 0xFF));
                for (int g = 0; g < 4; g++) {
                    int c = 256 * b + 64 * p + 0 + 8 * g;
                    IntVector v0 = (IntVector) ByteVector.fromArray(B8, w, b0 + o + 8 * g).convertShape(UB2I, I8, 0);
                    IntVector v1 = (IntVector) ByteVector.fromArray(B8, w, b1 + o + 8 * g).convertShape(UB2I, I8, 0);
                    IntVector h0 = (IntVector) ByteVector.fromArray(B8, w, b0 + QH + 8 * g).convertShape(UB2I, I8, 0);
                    IntVector h1 = (IntVector) ByteVector.fromArray(B8, w, b1 + QH + 8 * g).convertShape(UB2I, I8, 0);
                    v0 = v0.and(0x0F).or(h0.lanewise(LSHL, 4).lanewise(LSHR, 2 * p).and(16)); // bit j of qh, moved to bit 4
                    v1 = v1.and(0x0F).or(h1.lanewise(LSHL, 4).lanewise(LSHR, 2 * p).and(16));
                    FloatVector w0 = ((FloatVector) v0.convertShape(I2F, F8, 0)).fma(k0, z0);
                    FloatVector w1 = ((FloatVector) v1.convertShape(I2F, F8, 0)).fma(k1, z1);
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
                // sub-block 2p + 1: high nibbles
                k0 = FloatVector.broadcast(F8, d0 * (s0 >>> 8 & 0xFF));
                z0 = FloatVector.broadcast(F8, n0 * (m0 >>> 8 & 0xFF));
                k1 = FloatVector.broadcast(F8, d1 * (s1 >>> 8 & 0xFF));
                z1 = FloatVector.broadcast(F8, n1 * (m1 >>> 8 & 0xFF));
                for (int g = 0; g < 4; g++) {
                    int c = 256 * b + 64 * p + 32 + 8 * g;
                    IntVector v0 = (IntVector) ByteVector.fromArray(B8, w, b0 + o + 8 * g).convertShape(UB2I, I8, 0);
                    IntVector v1 = (IntVector) ByteVector.fromArray(B8, w, b1 + o + 8 * g).convertShape(UB2I, I8, 0);
                    IntVector h0 = (IntVector) ByteVector.fromArray(B8, w, b0 + QH + 8 * g).convertShape(UB2I, I8, 0);
                    IntVector h1 = (IntVector) ByteVector.fromArray(B8, w, b1 + QH + 8 * g).convertShape(UB2I, I8, 0);
                    v0 = v0.lanewise(LSHR, 4).or(h0.lanewise(LSHL, 4).lanewise(LSHR, 2 * p + 1).and(16)); // bit j of qh, moved to bit 4
                    v1 = v1.lanewise(LSHR, 4).or(h1.lanewise(LSHL, 4).lanewise(LSHR, 2 * p + 1).and(16));
                    FloatVector w0 = ((FloatVector) v0.convertShape(I2F, F8, 0)).fma(k0, z0);
                    FloatVector w1 = ((FloatVector) v1.convertShape(I2F, F8, 0)).fma(k1, z1);
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
