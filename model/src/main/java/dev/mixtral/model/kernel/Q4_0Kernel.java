package dev.mixtral.model.kernel;

import static dev.mixtral.model.kernel.VectorMath.sum;

import dev.mixtral.model.tensor.BlockQ4_0;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

/**
 * Q4_0 rows (blocks of 32: fp16 scale d, 16 bytes whose low nibbles are values 0..15 and high nibbles
 * 16..31). Groups in the order the bytes give them: values 0-7, 16-23, 8-15, 24-31. A weight is {@code fma(q, d, −8d)}, which equals {@code (q − 8)·d}
 * exactly: the exact result needs at most 4 + 11 significant bits, so the single rounding changes nothing.
 */
final class Q4_0Kernel extends RowKernel {
    private static final int BYTES = BlockQ4_0.BYTES, QS = BlockQ4_0.QS;

    private static FloatVector low(IntVector bytes, FloatVector d, FloatVector m) {
        return toFloats(bytes.and(0x0F)).fma(d, m);
    }

    private static FloatVector high(IntVector bytes, FloatVector d, FloatVector m) {
        return toFloats(bytes.lanewise(VectorOperators.LSHR, 4)).fma(d, m);
    }

    @Override
    public void rows4(MemorySegment w, long p0, long p1, long p2, long p3, float[] x, int xo, int cols, float[] out, int o) {
        FloatVector a0 = FloatVector.zero(F8), a1 = a0, a2 = a0, a3 = a0;
        int blocks = cols / BlockQ4_0.VALUES;
        for (int b = 0; b < blocks; b++) {
            long q = (long) b * BYTES;
            long b0 = p0 + q, b1 = p1 + q, b2 = p2 + q, b3 = p3 + q;
            float s0 = f16(w, b0), s1 = f16(w, b1), s2 = f16(w, b2), s3 = f16(w, b3);
            FloatVector d0 = FloatVector.broadcast(F8, s0), m0 = FloatVector.broadcast(F8, -8 * s0);
            FloatVector d1 = FloatVector.broadcast(F8, s1), m1 = FloatVector.broadcast(F8, -8 * s1);
            FloatVector d2 = FloatVector.broadcast(F8, s2), m2 = FloatVector.broadcast(F8, -8 * s2);
            FloatVector d3 = FloatVector.broadcast(F8, s3), m3 = FloatVector.broadcast(F8, -8 * s3);
            int xb = xo + 32 * b;
            // bytes 0-7 hold values 0-7 and 16-23, bytes 8-15 values 8-15 and 24-31
            for (int half = 0; half < 2; half++) {
                int c = xb + 8 * half;
                long qs = QS + 8 * half;
                IntVector v0 = unsignedBytes(w, b0 + qs), v1 = unsignedBytes(w, b1 + qs);
                IntVector v2 = unsignedBytes(w, b2 + qs), v3 = unsignedBytes(w, b3 + qs);
                FloatVector xv = FloatVector.fromArray(F8, x, c);
                a0 = low(v0, d0, m0).fma(xv, a0);
                a1 = low(v1, d1, m1).fma(xv, a1);
                a2 = low(v2, d2, m2).fma(xv, a2);
                a3 = low(v3, d3, m3).fma(xv, a3);
                xv = FloatVector.fromArray(F8, x, c + 16);
                a0 = high(v0, d0, m0).fma(xv, a0);
                a1 = high(v1, d1, m1).fma(xv, a1);
                a2 = high(v2, d2, m2).fma(xv, a2);
                a3 = high(v3, d3, m3).fma(xv, a3);
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
        int blocks = cols / BlockQ4_0.VALUES;
        for (int b = 0; b < blocks; b++) {
            long q = (long) b * BYTES;
            long b0 = p0 + q, b1 = p1 + q;
            float s0 = f16(w, b0), s1 = f16(w, b1);
            FloatVector d0 = FloatVector.broadcast(F8, s0), m0 = FloatVector.broadcast(F8, -8 * s0);
            FloatVector d1 = FloatVector.broadcast(F8, s1), m1 = FloatVector.broadcast(F8, -8 * s1);
            // the same group order as rows4: values 0-7, 16-23, 8-15, 24-31
            for (int k = 0; k < 4; k++) {
                long qs = QS + 8 * (k >> 1);
                int c = 32 * b + 8 * (k >> 1) + 16 * (k & 1);
                IntVector v0 = unsignedBytes(w, b0 + qs), v1 = unsignedBytes(w, b1 + qs);
                FloatVector w0 = (k & 1) == 0 ? low(v0, d0, m0) : high(v0, d0, m0);
                FloatVector w1 = (k & 1) == 0 ? low(v1, d1, m1) : high(v1, d1, m1);
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
        store(out, o0, o1, o2, o3, sum(a00), sum(a01), sum(a02), sum(a03), sum(a10), sum(a11), sum(a12), sum(a13));
    }
}
