package dev.mixtral.model.kernel;

import static dev.mixtral.model.kernel.VectorMath.sum;

import dev.mixtral.model.tensor.BlockQ8_0;
import jdk.incubator.vector.FloatVector;

import java.lang.foreign.MemorySegment;

/**
 * Q8_0 rows (blocks of 32: fp16 scale d, 32 int8). Groups in column order; a group's weights are
 * {@code float(q) · d}, exact (8 × 11 significant bits), as {@code Dequantize} computes them.
 */
final class Q8_0Kernel extends RowKernel {
    private static final int BYTES = BlockQ8_0.BYTES, QS = BlockQ8_0.QS;

    /** Group {@code g} (0..3) of the block at {@code blk}, scaled. */
    private static FloatVector group(MemorySegment w, long blk, int g, FloatVector d) {
        return bytesToFloats(w, blk + QS + 8 * g).mul(d);
    }

    @Override
    public void rows4(MemorySegment w, long p0, long p1, long p2, long p3, float[] x, int xo, int cols, float[] out, int o) {
        FloatVector a0 = FloatVector.zero(F8), a1 = a0, a2 = a0, a3 = a0;
        int blocks = cols / BlockQ8_0.VALUES;
        for (int b = 0; b < blocks; b++) {
            long q = (long) b * BYTES;
            long b0 = p0 + q, b1 = p1 + q, b2 = p2 + q, b3 = p3 + q;
            FloatVector d0 = FloatVector.broadcast(F8, f16(w, b0)), d1 = FloatVector.broadcast(F8, f16(w, b1));
            FloatVector d2 = FloatVector.broadcast(F8, f16(w, b2)), d3 = FloatVector.broadcast(F8, f16(w, b3));
            int xb = xo + 32 * b;
            for (int g = 0; g < 4; g++) {
                FloatVector xv = FloatVector.fromArray(F8, x, xb + 8 * g);
                a0 = group(w, b0, g, d0).fma(xv, a0);
                a1 = group(w, b1, g, d1).fma(xv, a1);
                a2 = group(w, b2, g, d2).fma(xv, a2);
                a3 = group(w, b3, g, d3).fma(xv, a3);
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
        int blocks = cols / BlockQ8_0.VALUES;
        for (int b = 0; b < blocks; b++) {
            long q = (long) b * BYTES;
            long b0 = p0 + q, b1 = p1 + q;
            FloatVector d0 = FloatVector.broadcast(F8, f16(w, b0)), d1 = FloatVector.broadcast(F8, f16(w, b1));
            int c = 32 * b;
            for (int g = 0; g < 4; g++, c += 8) {
                FloatVector w0 = group(w, b0, g, d0), w1 = group(w, b1, g, d1);
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
