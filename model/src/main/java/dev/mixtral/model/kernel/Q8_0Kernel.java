package dev.mixtral.model.kernel;

import dev.mixtral.model.tensor.BlockQ8_0;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;

import java.lang.foreign.MemorySegment;

/**
 * Q8_0 rows (blocks of 32: fp16 scale d, 32 int8). A block's 32 bytes are loaded as 8 ints and group g (0-3)
 * is byte g of every int, sign-extended by two shifts: lane j of group g is the value at column 4j + g of the
 * block. Shifts run on any vector port; the byte-to-int widening instruction ({@code vpmovsxbd}) the
 * obvious form needs crosses 128-bit lanes and measured ~2 cycles per 8 values on the AMD EPYC (Zen 3) CPUs
 * of this machine kind, where this form computes a 4096-wide row ~1.5× faster. {@link MatMul} hands the
 * kernels the activations in the same order ({@link #blockOrder}). The block scale is factored out of the
 * block's dot product, one FMA per weight. The rule, for one (row, token) pair, in every kernel shape
 * ({@link #rows4} from the array or the segment, {@link #tile2x4}):
 * <pre>
 *   acc = 0 (8 lanes)
 *   for each block b in column order, with q_g[j] = int8 at column 4j + g (exact in f32), x_g[j] = x[32b + 4j + g]:
 *     s = 0;  for g = 0, 1, 2, 3:  s = fma(q_g, x_g, s)                                   (lanewise)
 *     acc = fma(s, d_b, acc)                                                            (lanewise)
 *   result = {@link VectorMath#sumLanes}(acc)
 * </pre>
 * It takes the place of the per-weight order described in {@link RowKernel}; like it, it depends on nothing
 * but the row and the token. Every shape runs one row at a time: one stream of weights per thread keeps
 * the loop small, so more of it fits the CPU's reorder window and more memory reads are in flight (4 rows
 * interleaved measured slower from memory).
 */
public final class Q8_0Kernel extends RowKernel {
    private static final int BYTES = BlockQ8_0.BYTES, QS = BlockQ8_0.QS;
    @Override
    int[] blockOrder() {
        return INT_BYTES_ORDER;
    }

    @Override
    public void rows4(byte[] w, int p0, int p1, int p2, int p3, float[] x, int xo, int cols, float[] lanes) {
        row(w, p0, x, xo, cols, lanes, 0);
        row(w, p1, x, xo, cols, lanes, 8);
        row(w, p2, x, xo, cols, lanes, 16);
        row(w, p3, x, xo, cols, lanes, 24);
    }

    private static void row(byte[] w, int p, float[] x, int xo, int cols, float[] lanes, int lo) {
        int blocks = cols / BlockQ8_0.VALUES;
        for (int l0 = 0; l0 < 8; l0 += PASS) {
            FloatVector zero = FloatVector.zero(FLOATS), acc = zero;
            for (int b = 0; b < blocks; b++) {
                int q = p + b * BYTES, c = xo + 32 * b + l0;
                FloatVector d = FloatVector.broadcast(FLOATS, f16(w, q));
                IntVector v = ByteVector.fromArray(INT_BYTES, w, q + QS + 4 * l0).reinterpretAsInts();
                FloatVector s = ((FloatVector) v.lanewise(LSHL, 24).lanewise(ASHR, 24).convert(I2F, 0)).fma(FloatVector.fromArray(FLOATS, x, c), zero);
                s = ((FloatVector) v.lanewise(LSHL, 16).lanewise(ASHR, 24).convert(I2F, 0)).fma(FloatVector.fromArray(FLOATS, x, c + 8), s);
                s = ((FloatVector) v.lanewise(LSHL, 8).lanewise(ASHR, 24).convert(I2F, 0)).fma(FloatVector.fromArray(FLOATS, x, c + 16), s);
                s = ((FloatVector) v.lanewise(ASHR, 24).convert(I2F, 0)).fma(FloatVector.fromArray(FLOATS, x, c + 24), s);
                acc = s.fma(d, acc);
            }
            acc.intoArray(lanes, lo + l0);
        }
    }

    /** Straight from the mapped segment: the same operations as {@link #row}, the loads from the segment. */
    @Override
    public boolean rows4(MemorySegment w, long p0, long p1, long p2, long p3, float[] x, int xo, int cols, float[] lanes) {
        row(w, p0, x, xo, cols, lanes, 0);
        row(w, p1, x, xo, cols, lanes, 8);
        row(w, p2, x, xo, cols, lanes, 16);
        row(w, p3, x, xo, cols, lanes, 24);
        return true;
    }

    private static void row(MemorySegment w, long p, float[] x, int xo, int cols, float[] lanes, int lo) {
        int blocks = cols / BlockQ8_0.VALUES;
        for (int l0 = 0; l0 < 8; l0 += PASS) {
            FloatVector zero = FloatVector.zero(FLOATS), acc = zero;
            for (int b = 0; b < blocks; b++) {
                long q = p + (long) b * BYTES;
                int c = xo + 32 * b + l0;
                FloatVector d = FloatVector.broadcast(FLOATS, f16(w, q));
                IntVector v = IntVector.fromMemorySegment(INTS, w, q + QS + 4 * l0, LE);
                FloatVector s = ((FloatVector) v.lanewise(LSHL, 24).lanewise(ASHR, 24).convert(I2F, 0)).fma(FloatVector.fromArray(FLOATS, x, c), zero);
                s = ((FloatVector) v.lanewise(LSHL, 16).lanewise(ASHR, 24).convert(I2F, 0)).fma(FloatVector.fromArray(FLOATS, x, c + 8), s);
                s = ((FloatVector) v.lanewise(LSHL, 8).lanewise(ASHR, 24).convert(I2F, 0)).fma(FloatVector.fromArray(FLOATS, x, c + 16), s);
                s = ((FloatVector) v.lanewise(ASHR, 24).convert(I2F, 0)).fma(FloatVector.fromArray(FLOATS, x, c + 24), s);
                acc = s.fma(d, acc);
            }
            acc.intoArray(lanes, lo + l0);
        }
    }

    /** A row at a time against the 4 tokens: each block's 4 widened groups feed all 4 tokens. */
    @Override
    public void tile2x4(byte[] w, int p0, int p1, float[] x, int x0, int x1, int x2, int x3, int cols, float[] lanes) {
        row1x4(w, p0, x, x0, x1, x2, x3, cols, lanes, 0);
        row1x4(w, p1, x, x0, x1, x2, x3, cols, lanes, 32);
    }

    private static void row1x4(byte[] w, int p, float[] x, int x0, int x1, int x2, int x3, int cols, float[] lanes, int lo) {
        int blocks = cols / BlockQ8_0.VALUES;
        for (int l0 = 0; l0 < 8; l0 += PASS) {
            FloatVector zero = FloatVector.zero(FLOATS);
            FloatVector a0 = zero, a1 = zero, a2 = zero, a3 = zero;
            for (int b = 0; b < blocks; b++) {
                int q = p + b * BYTES, c = 32 * b + l0;
                FloatVector d = FloatVector.broadcast(FLOATS, f16(w, q));
                IntVector v = ByteVector.fromArray(INT_BYTES, w, q + QS + 4 * l0).reinterpretAsInts();
                FloatVector g0 = (FloatVector) v.lanewise(LSHL, 24).lanewise(ASHR, 24).convert(I2F, 0);
                FloatVector g1 = (FloatVector) v.lanewise(LSHL, 16).lanewise(ASHR, 24).convert(I2F, 0);
                FloatVector g2 = (FloatVector) v.lanewise(LSHL, 8).lanewise(ASHR, 24).convert(I2F, 0);
                FloatVector g3 = (FloatVector) v.lanewise(ASHR, 24).convert(I2F, 0);
                FloatVector s = g0.fma(FloatVector.fromArray(FLOATS, x, x0 + c), zero);
                s = g1.fma(FloatVector.fromArray(FLOATS, x, x0 + c + 8), s);
                s = g2.fma(FloatVector.fromArray(FLOATS, x, x0 + c + 16), s);
                a0 = g3.fma(FloatVector.fromArray(FLOATS, x, x0 + c + 24), s).fma(d, a0);
                s = g0.fma(FloatVector.fromArray(FLOATS, x, x1 + c), zero);
                s = g1.fma(FloatVector.fromArray(FLOATS, x, x1 + c + 8), s);
                s = g2.fma(FloatVector.fromArray(FLOATS, x, x1 + c + 16), s);
                a1 = g3.fma(FloatVector.fromArray(FLOATS, x, x1 + c + 24), s).fma(d, a1);
                s = g0.fma(FloatVector.fromArray(FLOATS, x, x2 + c), zero);
                s = g1.fma(FloatVector.fromArray(FLOATS, x, x2 + c + 8), s);
                s = g2.fma(FloatVector.fromArray(FLOATS, x, x2 + c + 16), s);
                a2 = g3.fma(FloatVector.fromArray(FLOATS, x, x2 + c + 24), s).fma(d, a2);
                s = g0.fma(FloatVector.fromArray(FLOATS, x, x3 + c), zero);
                s = g1.fma(FloatVector.fromArray(FLOATS, x, x3 + c + 8), s);
                s = g2.fma(FloatVector.fromArray(FLOATS, x, x3 + c + 16), s);
                a3 = g3.fma(FloatVector.fromArray(FLOATS, x, x3 + c + 24), s).fma(d, a3);
            }
            a0.intoArray(lanes, lo + l0);
            a1.intoArray(lanes, lo + 8 + l0);
            a2.intoArray(lanes, lo + 16 + l0);
            a3.intoArray(lanes, lo + 24 + l0);
        }
    }
}
