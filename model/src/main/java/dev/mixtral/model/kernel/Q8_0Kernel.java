package dev.mixtral.model.kernel;

import dev.mixtral.model.tensor.BlockQ8_0;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Q8_0 rows (blocks of 32: fp16 scale d, 32 int8). The block scale is factored out of the block's dot
 * product, one FMA per weight instead of a multiply and an FMA. The rule, for one (row, token) pair, in
 * every kernel shape ({@link #rows4} from the array or the segment, {@link #tile2x4}):
 * <pre>
 *   acc = 0 (8 lanes)
 *   for each block b in column order, with x_g = x[32b + 8g .. + 8) and q_g its 8 int8 widened to f32 (exact):
 *     s = 0;  for g = 0, 1, 2, 3:  s = fma(q_g, x_g, s)                                     (lanewise)
 *     acc = fma(s, d_b, acc)                                                              (lanewise)
 *   result = {@link VectorMath#sumLanes}(acc)
 * </pre>
 * It takes the place of the per-weight order described in {@link RowKernel}; like it, it depends on nothing
 * but the row and the token.
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
            FloatVector s0 = FloatVector.zero(F8), s1 = s0, s2 = s0, s3 = s0;
            for (int g = 0; g < 4; g++) {
                FloatVector xv = FloatVector.fromArray(F8, x, xb + 8 * g);
                s0 = ((FloatVector) ByteVector.fromArray(B8, w, b0 + QS + 8 * g).convertShape(B2F, F8, 0)).fma(xv, s0);
                s1 = ((FloatVector) ByteVector.fromArray(B8, w, b1 + QS + 8 * g).convertShape(B2F, F8, 0)).fma(xv, s1);
                s2 = ((FloatVector) ByteVector.fromArray(B8, w, b2 + QS + 8 * g).convertShape(B2F, F8, 0)).fma(xv, s2);
                s3 = ((FloatVector) ByteVector.fromArray(B8, w, b3 + QS + 8 * g).convertShape(B2F, F8, 0)).fma(xv, s3);
            }
            a0 = s0.fma(d0, a0);
            a1 = s1.fma(d1, a1);
            a2 = s2.fma(d2, a2);
            a3 = s3.fma(d3, a3);
        }
        a0.intoArray(lanes, 0);
        a1.intoArray(lanes, 8);
        a2.intoArray(lanes, 16);
        a3.intoArray(lanes, 24);
    }

    /**
     * From the segment, in one of two equivalent ways (the same operations on the same values): per block and
     * row, one 32-byte load whose 8-byte parts are widened from the register, or two 16-byte loads. Taking the
     * upper parts out of a 32-byte register costs byte shuffles across 128-bit lanes — one instruction with
     * AVX-512 VBMI, several with AVX2 only, where the 32-byte form decoded the Q8_0 layer model at 8.9 tokens/s
     * and the 16-byte form at 13.3-13.8; with AVX-512 the 32-byte form was 10% faster (15.2-15.5 vs 13.5-14.0).
     * Four 8-byte loads measured slower than either: every segment access costs bounds and liveness checks.
     */
    @Override
    public boolean rows4(MemorySegment w, long p0, long p1, long p2, long p3, float[] x, int xo, int cols, float[] lanes) {
        return LOADS_32 ? rows4Loads32(w, p0, p1, p2, p3, x, xo, cols, lanes) : rows4Loads16(w, p0, p1, p2, p3, x, xo, cols, lanes);
    }

    /**
     * Whether the JIT uses AVX-512 here and the CPU has VBMI's one-instruction byte permute (measured only on
     * such a CPU; an AVX-512 CPU without VBMI takes the 16-byte form, the one measured fast without it).
     */
    private static final boolean LOADS_32 = MatMul.preferredVectorBits() >= 512 && CpuFlags.has("avx512vbmi");

    /** {@link #rows4(MemorySegment, long, long, long, long, float[], int, int, float[])} with 32-byte loads. */
    static boolean rows4Loads32(MemorySegment w, long p0, long p1, long p2, long p3, float[] x, int xo, int cols, float[] lanes) {
        FloatVector a0 = FloatVector.zero(F8), a1 = a0, a2 = a0, a3 = a0;
        int blocks = cols / BlockQ8_0.VALUES;
        for (int b = 0; b < blocks; b++) {
            long q = (long) b * BYTES;
            long b0 = p0 + q, b1 = p1 + q, b2 = p2 + q, b3 = p3 + q;
            FloatVector d0 = FloatVector.broadcast(F8, Float.float16ToFloat(w.get(SEG_I16, b0)));
            FloatVector d1 = FloatVector.broadcast(F8, Float.float16ToFloat(w.get(SEG_I16, b1)));
            FloatVector d2 = FloatVector.broadcast(F8, Float.float16ToFloat(w.get(SEG_I16, b2)));
            FloatVector d3 = FloatVector.broadcast(F8, Float.float16ToFloat(w.get(SEG_I16, b3)));
            // one 32-byte load per block and row, widened 8 bytes at a time from the register
            ByteVector q0 = ByteVector.fromMemorySegment(B32, w, b0 + QS, LE), q1 = ByteVector.fromMemorySegment(B32, w, b1 + QS, LE);
            ByteVector q2 = ByteVector.fromMemorySegment(B32, w, b2 + QS, LE), q3 = ByteVector.fromMemorySegment(B32, w, b3 + QS, LE);
            int xb = xo + 32 * b;
            FloatVector s0 = FloatVector.zero(F8), s1 = s0, s2 = s0, s3 = s0;
            for (int g = 0; g < 4; g++) {
                FloatVector xv = FloatVector.fromArray(F8, x, xb + 8 * g);
                s0 = ((FloatVector) q0.convertShape(B2F, F8, g)).fma(xv, s0);
                s1 = ((FloatVector) q1.convertShape(B2F, F8, g)).fma(xv, s1);
                s2 = ((FloatVector) q2.convertShape(B2F, F8, g)).fma(xv, s2);
                s3 = ((FloatVector) q3.convertShape(B2F, F8, g)).fma(xv, s3);
            }
            a0 = s0.fma(d0, a0);
            a1 = s1.fma(d1, a1);
            a2 = s2.fma(d2, a2);
            a3 = s3.fma(d3, a3);
        }
        a0.intoArray(lanes, 0);
        a1.intoArray(lanes, 8);
        a2.intoArray(lanes, 16);
        a3.intoArray(lanes, 24);
        return true;
    }

    /** {@link #rows4(MemorySegment, long, long, long, long, float[], int, int, float[])} with 16-byte loads. */
    static boolean rows4Loads16(MemorySegment w, long p0, long p1, long p2, long p3, float[] x, int xo, int cols, float[] lanes) {
        FloatVector a0 = FloatVector.zero(F8), a1 = a0, a2 = a0, a3 = a0;
        int blocks = cols / BlockQ8_0.VALUES;
        for (int b = 0; b < blocks; b++) {
            long q = (long) b * BYTES;
            long b0 = p0 + q, b1 = p1 + q, b2 = p2 + q, b3 = p3 + q;
            FloatVector d0 = FloatVector.broadcast(F8, Float.float16ToFloat(w.get(SEG_I16, b0)));
            FloatVector d1 = FloatVector.broadcast(F8, Float.float16ToFloat(w.get(SEG_I16, b1)));
            FloatVector d2 = FloatVector.broadcast(F8, Float.float16ToFloat(w.get(SEG_I16, b2)));
            FloatVector d3 = FloatVector.broadcast(F8, Float.float16ToFloat(w.get(SEG_I16, b3)));
            // two 16-byte loads per block and row, each widened 8 bytes at a time from the register
            int xb = xo + 32 * b;
            FloatVector s0 = FloatVector.zero(F8), s1 = s0, s2 = s0, s3 = s0;
            for (int h = 0; h < 2; h++) {
                long o = QS + 16 * h;
                ByteVector q0 = ByteVector.fromMemorySegment(B16, w, b0 + o, LE), q1 = ByteVector.fromMemorySegment(B16, w, b1 + o, LE);
                ByteVector q2 = ByteVector.fromMemorySegment(B16, w, b2 + o, LE), q3 = ByteVector.fromMemorySegment(B16, w, b3 + o, LE);
                for (int g = 0; g < 2; g++) {
                    FloatVector xv = FloatVector.fromArray(F8, x, xb + 16 * h + 8 * g);
                    s0 = ((FloatVector) q0.convertShape(B2F, F8, g)).fma(xv, s0);
                    s1 = ((FloatVector) q1.convertShape(B2F, F8, g)).fma(xv, s1);
                    s2 = ((FloatVector) q2.convertShape(B2F, F8, g)).fma(xv, s2);
                    s3 = ((FloatVector) q3.convertShape(B2F, F8, g)).fma(xv, s3);
                }
            }
            a0 = s0.fma(d0, a0);
            a1 = s1.fma(d1, a1);
            a2 = s2.fma(d2, a2);
            a3 = s3.fma(d3, a3);
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
            FloatVector s00 = FloatVector.zero(F8), s01 = s00, s02 = s00, s03 = s00;
            FloatVector s10 = s00, s11 = s00, s12 = s00, s13 = s00;
            for (int g = 0; g < 4; g++, c += 8) {
                FloatVector w0 = (FloatVector) ByteVector.fromArray(B8, w, b0 + QS + 8 * g).convertShape(B2F, F8, 0);
                FloatVector w1 = (FloatVector) ByteVector.fromArray(B8, w, b1 + QS + 8 * g).convertShape(B2F, F8, 0);
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
