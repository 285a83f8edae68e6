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
 * interleaved measured slower from memory) — one row per lane group: at 512 bits a pass runs a pair of rows,
 * A in lanes 0-7 and B in 8-15 ({@link RowKernel#PAIR_FLOATS}), at the narrower widths row A's passes, then row B's.
 */
public final class Q8_0Kernel extends RowKernel {
    private static final int BYTES = BlockQ8_0.BYTES, QS = BlockQ8_0.QS;
    @Override
    int[] blockOrder() {
        return INT_BYTES_ORDER;
    }

    @Override
    public int vectorBits() {
        return VectorWidth.BITS;
    }

    @Override
    public void rows4(byte[] w, int p0, int p1, int p2, int p3, float[] x, int xo, int cols, float[] lanes) {
        rows2(w, p0, p1, x, xo, cols, lanes, 0);
        rows2(w, p2, p3, x, xo, cols, lanes, 16);
    }

    /** Rows A (at {@code pa}) and B against one token: A's lanes to {@code lanes[lo ..)}, B's to {@code lanes[lo + 8 ..)}. */
    private static void rows2(byte[] w, int pa, int pb, float[] x, int xo, int cols, float[] lanes, int lo) {
        int blocks = cols / BlockQ8_0.VALUES;
        for (int k = 0; k < 16; k += ROW_PAIR_PASS) { // k: the pass's first lane of 16, row A's 0-7 and row B's 8-15
            int p = k < 8 ? pa : pb, l0 = k & 7;
            FloatVector zero = FloatVector.zero(PAIR_FLOATS), acc = zero;
            for (int b = 0; b < blocks; b++) {
                int q = p + b * BYTES, c = xo + X_COPIES * 32 * b + l0;
                FloatVector d = FloatVector.broadcast(PAIR_FLOATS, f16(w, q));
                IntVector v;
                if (PAIRED) {
                    int qb = pb + b * BYTES;
                    d = d.blend(f16(w, qb), ROW_B);
                    v = (IntVector) ByteVector.fromArray(PAIR_INT_BYTES, w, q + QS).blend(ByteVector.fromArray(PAIR_INT_BYTES, w, qb + QS - 32), ROW_B_BYTES).reinterpretShape(PAIR_INTS, 0);
                } else {
                    v = (IntVector) ByteVector.fromArray(PAIR_INT_BYTES, w, q + QS + 4 * l0).reinterpretShape(PAIR_INTS, 0);
                }
                FloatVector s = ((FloatVector) v.lanewise(LSHL, 24).lanewise(ASHR, 24).convertShape(I2F, PAIR_FLOATS, 0)).fma(FloatVector.fromArray(PAIR_FLOATS, x, c), zero);
                s = ((FloatVector) v.lanewise(LSHL, 16).lanewise(ASHR, 24).convertShape(I2F, PAIR_FLOATS, 0)).fma(FloatVector.fromArray(PAIR_FLOATS, x, c + 8 * X_COPIES), s);
                s = ((FloatVector) v.lanewise(LSHL, 8).lanewise(ASHR, 24).convertShape(I2F, PAIR_FLOATS, 0)).fma(FloatVector.fromArray(PAIR_FLOATS, x, c + 16 * X_COPIES), s);
                s = ((FloatVector) v.lanewise(ASHR, 24).convertShape(I2F, PAIR_FLOATS, 0)).fma(FloatVector.fromArray(PAIR_FLOATS, x, c + 24 * X_COPIES), s);
                acc = s.fma(d, acc);
            }
            acc.intoArray(lanes, lo + k);
        }
    }

    /** Straight from the mapped segment: the same operations as {@link #rows2}, the loads from the segment. */
    @Override
    public boolean rows4(MemorySegment w, long p0, long p1, long p2, long p3, float[] x, int xo, int cols, float[] lanes) {
        rows2(w, p0, p1, x, xo, cols, lanes, 0);
        rows2(w, p2, p3, x, xo, cols, lanes, 16);
        return true;
    }

    private static void rows2(MemorySegment w, long pa, long pb, float[] x, int xo, int cols, float[] lanes, int lo) {
        int blocks = cols / BlockQ8_0.VALUES;
        for (int k = 0; k < 16; k += ROW_PAIR_PASS) {
            long p = k < 8 ? pa : pb;
            int l0 = k & 7;
            FloatVector zero = FloatVector.zero(PAIR_FLOATS), acc = zero;
            for (int b = 0; b < blocks; b++) {
                long q = p + (long) b * BYTES;
                int c = xo + X_COPIES * 32 * b + l0;
                FloatVector d = FloatVector.broadcast(PAIR_FLOATS, f16(w, q));
                IntVector v;
                if (PAIRED) {
                    long qb = pb + (long) b * BYTES;
                    d = d.blend(f16(w, qb), ROW_B);
                    v = IntVector.fromMemorySegment(PAIR_INTS, w, q + QS, LE).blend(IntVector.fromMemorySegment(PAIR_INTS, w, qb + QS - 32, LE), ROW_B_INTS);
                } else {
                    v = IntVector.fromMemorySegment(PAIR_INTS, w, q + QS + 4 * l0, LE);
                }
                FloatVector s = ((FloatVector) v.lanewise(LSHL, 24).lanewise(ASHR, 24).convertShape(I2F, PAIR_FLOATS, 0)).fma(FloatVector.fromArray(PAIR_FLOATS, x, c), zero);
                s = ((FloatVector) v.lanewise(LSHL, 16).lanewise(ASHR, 24).convertShape(I2F, PAIR_FLOATS, 0)).fma(FloatVector.fromArray(PAIR_FLOATS, x, c + 8 * X_COPIES), s);
                s = ((FloatVector) v.lanewise(LSHL, 8).lanewise(ASHR, 24).convertShape(I2F, PAIR_FLOATS, 0)).fma(FloatVector.fromArray(PAIR_FLOATS, x, c + 16 * X_COPIES), s);
                s = ((FloatVector) v.lanewise(ASHR, 24).convertShape(I2F, PAIR_FLOATS, 0)).fma(FloatVector.fromArray(PAIR_FLOATS, x, c + 24 * X_COPIES), s);
                acc = s.fma(d, acc);
            }
            acc.intoArray(lanes, lo + k);
        }
    }

    /** Both rows against the 4 tokens: each block's 4 widened groups feed all 4 tokens. */
    @Override
    public void tile2x4(byte[] w, int pa, int pb, float[] x, int x0, int x1, int x2, int x3, int cols, float[] lanes) {
        int blocks = cols / BlockQ8_0.VALUES;
        for (int k = 0; k < 16; k += ROW_PAIR_PASS) {
            int p = k < 8 ? pa : pb, l0 = k & 7;
            FloatVector zero = FloatVector.zero(PAIR_FLOATS);
            FloatVector a0 = zero, a1 = zero, a2 = zero, a3 = zero;
            for (int b = 0; b < blocks; b++) {
                int q = p + b * BYTES, c = X_COPIES * 32 * b + l0, c1 = c + 8 * X_COPIES, c2 = c + 16 * X_COPIES, c3 = c + 24 * X_COPIES;
                FloatVector d = FloatVector.broadcast(PAIR_FLOATS, f16(w, q));
                IntVector v;
                if (PAIRED) {
                    int qb = pb + b * BYTES;
                    d = d.blend(f16(w, qb), ROW_B);
                    v = (IntVector) ByteVector.fromArray(PAIR_INT_BYTES, w, q + QS).blend(ByteVector.fromArray(PAIR_INT_BYTES, w, qb + QS - 32), ROW_B_BYTES).reinterpretShape(PAIR_INTS, 0);
                } else {
                    v = (IntVector) ByteVector.fromArray(PAIR_INT_BYTES, w, q + QS + 4 * l0).reinterpretShape(PAIR_INTS, 0);
                }
                FloatVector g0 = (FloatVector) v.lanewise(LSHL, 24).lanewise(ASHR, 24).convertShape(I2F, PAIR_FLOATS, 0);
                FloatVector g1 = (FloatVector) v.lanewise(LSHL, 16).lanewise(ASHR, 24).convertShape(I2F, PAIR_FLOATS, 0);
                FloatVector g2 = (FloatVector) v.lanewise(LSHL, 8).lanewise(ASHR, 24).convertShape(I2F, PAIR_FLOATS, 0);
                FloatVector g3 = (FloatVector) v.lanewise(ASHR, 24).convertShape(I2F, PAIR_FLOATS, 0);
                FloatVector s = g0.fma(FloatVector.fromArray(PAIR_FLOATS, x, x0 + c), zero);
                s = g1.fma(FloatVector.fromArray(PAIR_FLOATS, x, x0 + c1), s);
                s = g2.fma(FloatVector.fromArray(PAIR_FLOATS, x, x0 + c2), s);
                a0 = g3.fma(FloatVector.fromArray(PAIR_FLOATS, x, x0 + c3), s).fma(d, a0);
                s = g0.fma(FloatVector.fromArray(PAIR_FLOATS, x, x1 + c), zero);
                s = g1.fma(FloatVector.fromArray(PAIR_FLOATS, x, x1 + c1), s);
                s = g2.fma(FloatVector.fromArray(PAIR_FLOATS, x, x1 + c2), s);
                a1 = g3.fma(FloatVector.fromArray(PAIR_FLOATS, x, x1 + c3), s).fma(d, a1);
                s = g0.fma(FloatVector.fromArray(PAIR_FLOATS, x, x2 + c), zero);
                s = g1.fma(FloatVector.fromArray(PAIR_FLOATS, x, x2 + c1), s);
                s = g2.fma(FloatVector.fromArray(PAIR_FLOATS, x, x2 + c2), s);
                a2 = g3.fma(FloatVector.fromArray(PAIR_FLOATS, x, x2 + c3), s).fma(d, a2);
                s = g0.fma(FloatVector.fromArray(PAIR_FLOATS, x, x3 + c), zero);
                s = g1.fma(FloatVector.fromArray(PAIR_FLOATS, x, x3 + c1), s);
                s = g2.fma(FloatVector.fromArray(PAIR_FLOATS, x, x3 + c2), s);
                a3 = g3.fma(FloatVector.fromArray(PAIR_FLOATS, x, x3 + c3), s).fma(d, a3);
            }
            if (PAIRED) { // lanes 0-7 are row A's (to 8t), 8-15 row B's (to 32 + 8t)
                a0.intoArray(lanes, 0, ROW_A);
                a1.intoArray(lanes, 8, ROW_A);
                a2.intoArray(lanes, 16, ROW_A);
                a3.intoArray(lanes, 24, ROW_A);
                a0.intoArray(lanes, 24, ROW_B);
                a1.intoArray(lanes, 32, ROW_B);
                a2.intoArray(lanes, 40, ROW_B);
                a3.intoArray(lanes, 48, ROW_B);
            } else {
                int o = k < 8 ? k : 24 + k;
                a0.intoArray(lanes, o);
                a1.intoArray(lanes, o + 8);
                a2.intoArray(lanes, o + 16);
                a3.intoArray(lanes, o + 24);
            }
        }
    }
}
