package dev.mixtral.model.kernel;

import dev.mixtral.model.tensor.BlockQ8_0;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Q8_0 rows (blocks of 32: fp16 scale d, 32 int8). Groups in column order; a group's weights are
 * {@code float(q) · d}, exact (8 × 11 significant bits), as {@code Dequantize} computes them.
 */
final class Q8_0Kernel extends RowKernel {
    private static final int BYTES = BlockQ8_0.BYTES, QS = BlockQ8_0.QS;
    private static final ValueLayout.OfShort SEG_I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);

    @Override
    public void rows4(byte[] w, int p0, int p1, int p2, int p3, float[] x, int xo, int cols, float[] lanes) {
        FloatVector a0 = FloatVector.zero(F8), a1 = a0, a2 = a0, a3 = a0;
        int blocks = cols / BlockQ8_0.VALUES;
        for (int b = 0; b < blocks; b++) {
            int q = b * BYTES;
            int b0 = p0 + q, b1 = p1 + q, b2 = p2 + q, b3 = p3 + q;
            FloatVector d0 = FloatVector.broadcast(F8, f16(w, b0)), d1 = FloatVector.broadcast(F8, f16(w, b1));
            FloatVector d2 = FloatVector.broadcast(F8, f16(w, b2)), d3 = FloatVector.broadcast(F8, f16(w, b3));
            int xb = xo + 32 * b;
            for (int g = 0; g < 4; g++) {
                FloatVector xv = FloatVector.fromArray(F8, x, xb + 8 * g);
                a0 = ((FloatVector) ByteVector.fromArray(B8, w, b0 + QS + 8 * g).convertShape(B2F, F8, 0)).mul(d0).fma(xv, a0);
                a1 = ((FloatVector) ByteVector.fromArray(B8, w, b1 + QS + 8 * g).convertShape(B2F, F8, 0)).mul(d1).fma(xv, a1);
                a2 = ((FloatVector) ByteVector.fromArray(B8, w, b2 + QS + 8 * g).convertShape(B2F, F8, 0)).mul(d2).fma(xv, a2);
                a3 = ((FloatVector) ByteVector.fromArray(B8, w, b3 + QS + 8 * g).convertShape(B2F, F8, 0)).mul(d3).fma(xv, a3);
            }
        }
        a0.intoArray(lanes, 0);
        a1.intoArray(lanes, 8);
        a2.intoArray(lanes, 16);
        a3.intoArray(lanes, 24);
    }

    @Override
    public boolean rows4(MemorySegment w, long p0, long p1, long p2, long p3, float[] x, int xo, int cols, float[] lanes) {
        FloatVector a0 = FloatVector.zero(F8), a1 = a0, a2 = a0, a3 = a0;
        int blocks = cols / BlockQ8_0.VALUES;
        for (int b = 0; b < blocks; b++) {
            long q = (long) b * BYTES;
            long b0 = p0 + q, b1 = p1 + q, b2 = p2 + q, b3 = p3 + q;
            FloatVector d0 = FloatVector.broadcast(F8, Float.float16ToFloat(w.get(SEG_I16, b0)));
            FloatVector d1 = FloatVector.broadcast(F8, Float.float16ToFloat(w.get(SEG_I16, b1)));
            FloatVector d2 = FloatVector.broadcast(F8, Float.float16ToFloat(w.get(SEG_I16, b2)));
            FloatVector d3 = FloatVector.broadcast(F8, Float.float16ToFloat(w.get(SEG_I16, b3)));
            // one 32-byte load per block and row, widened 8 bytes at a time from the register: each segment
            // access costs bounds and liveness checks, so 4 small loads measured ~15% slower than 1 wide one
            ByteVector q0 = ByteVector.fromMemorySegment(B32, w, b0 + QS, LE), q1 = ByteVector.fromMemorySegment(B32, w, b1 + QS, LE);
            ByteVector q2 = ByteVector.fromMemorySegment(B32, w, b2 + QS, LE), q3 = ByteVector.fromMemorySegment(B32, w, b3 + QS, LE);
            int xb = xo + 32 * b;
            for (int g = 0; g < 4; g++) {
                FloatVector xv = FloatVector.fromArray(F8, x, xb + 8 * g);
                a0 = ((FloatVector) q0.convertShape(B2F, F8, g)).mul(d0).fma(xv, a0);
                a1 = ((FloatVector) q1.convertShape(B2F, F8, g)).mul(d1).fma(xv, a1);
                a2 = ((FloatVector) q2.convertShape(B2F, F8, g)).mul(d2).fma(xv, a2);
                a3 = ((FloatVector) q3.convertShape(B2F, F8, g)).mul(d3).fma(xv, a3);
            }
        }
        a0.intoArray(lanes, 0);
        a1.intoArray(lanes, 8);
        a2.intoArray(lanes, 16);
        a3.intoArray(lanes, 24);
        return true;
    }

    @Override
    public void tile2x4(byte[] w, int p0, int p1, float[] x, int x0, int x1, int x2, int x3,
                        int cols, float[] lanes) {
        FloatVector a00 = FloatVector.zero(F8), a01 = a00, a02 = a00, a03 = a00;
        FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        int blocks = cols / BlockQ8_0.VALUES;
        for (int b = 0; b < blocks; b++) {
            int q = b * BYTES;
            int b0 = p0 + q, b1 = p1 + q;
            FloatVector d0 = FloatVector.broadcast(F8, f16(w, b0)), d1 = FloatVector.broadcast(F8, f16(w, b1));
            int c = 32 * b;
            for (int g = 0; g < 4; g++, c += 8) {
                FloatVector w0 = ((FloatVector) ByteVector.fromArray(B8, w, b0 + QS + 8 * g).convertShape(B2F, F8, 0)).mul(d0), w1 = ((FloatVector) ByteVector.fromArray(B8, w, b1 + QS + 8 * g).convertShape(B2F, F8, 0)).mul(d1);
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
