package dev.mixtral.model.kernel;

import dev.mixtral.model.tensor.BlockQ4_0;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.LongVector;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Q4_0 rows (blocks of 32: fp16 scale d, 16 bytes whose low nibbles are values 0..15 and high nibbles
 * 16..31). Each 8-byte half of a block is read as one long and broadcast to 4 lanes of 64 bits, i.e. 8 ints
 * alternating bytes 0-3 and 4-7; a per-lane left shift puts a different nibble at the top of each lane and
 * an arithmetic right shift by 28 brings it back sign-extended. The long is first XORed with 0x88…, so the
 * sign-extended nibble is {@code q − 8} (−8..7) directly. No instruction crosses 128-bit lanes except the
 * broadcast (the zero-extending byte widening the obvious form uses costs ~2 cycles per 8 values on this machine
 * kind's Zen 3 CPUs). Group g's lane j is then the value at column {@code base_g + (0, 4, 1, 5, 2, 6, 3, 7)[j]},
 * {@code base = (0, 16, 8, 24)}: {@link MatMul} hands the kernels the activations in that order
 * ({@link #blockOrder}). The block scale is factored out of the block's dot product. The rule, for one
 * (row, token) pair, in every kernel shape ({@link #rows4} from the array or the segment, {@link #tile2x4}):
 * <pre>
 *   acc = 0 (8 lanes)
 *   for each block b in column order, with q_g − 8 (exact in f32) and x_g its lanes as above:
 *     s = 0;  for g = 0, 1, 2, 3:  s = fma(q_g − 8, x_g, s)                                (lanewise)
 *     acc = fma(s, d_b, acc)                                                            (lanewise)
 *   result = {@link VectorMath#sumLanes}(acc)
 * </pre>
 * It takes the place of the per-weight order described in {@link RowKernel}; like it, it depends on nothing
 * but the row and the token. Every shape runs one row at a time, as {@link Q8_0Kernel} does and for the same reason.
 */
public final class Q4_0Kernel extends RowKernel {
    private static final int BYTES = BlockQ4_0.BYTES, QS = BlockQ4_0.QS;
    private static final ValueLayout.OfLong SEG_I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(LE);
    /** Flips bit 3 of every nibble: the sign-extended nibble is then q − 8. */
    private static final long FLIP = 0x8888888888888888L;
    /** Left shifts that put the low (high) nibble of bytes 0, 4, 1, 5, 2, 6, 3, 7 at the top of lanes 0-7. */
    private static final int[] LOW = {28, 28, 20, 20, 12, 12, 4, 4}, HIGH = {24, 24, 16, 16, 8, 8, 0, 0};
    private static final int[] ORDER = new int[32];

    static {
        int[] lane = {0, 4, 1, 5, 2, 6, 3, 7}, base = {0, 16, 8, 24};
        for (int g = 0; g < 4; g++) {
            for (int j = 0; j < 8; j++) ORDER[8 * g + j] = base[g] + lane[j];
        }
    }

    @Override
    int[] blockOrder() {
        return ORDER;
    }

    @Override
    public void rows4(byte[] w, int p0, int p1, int p2, int p3, float[] x, int xo, int cols, float[] lanes) {
        row(w, p0, x, xo, cols, lanes, 0);
        row(w, p1, x, xo, cols, lanes, 8);
        row(w, p2, x, xo, cols, lanes, 16);
        row(w, p3, x, xo, cols, lanes, 24);
    }

    private static void row(byte[] w, int p, float[] x, int xo, int cols, float[] lanes, int lo) {
        int blocks = cols / BlockQ4_0.VALUES;
        for (int l0 = 0; l0 < 8; l0 += PASS) {
            IntVector low = IntVector.fromArray(INTS, LOW, l0), high = IntVector.fromArray(INTS, HIGH, l0);
            FloatVector zero = FloatVector.zero(FLOATS), acc = zero;
            for (int b = 0; b < blocks; b++) {
                int q = p + b * BYTES, c = xo + 32 * b + l0;
                FloatVector d = FloatVector.broadcast(FLOATS, f16(w, q));
                IntVector h0 = (IntVector) LongVector.broadcast(LONGS, (long) I64_LE.get(w, q + QS) ^ FLIP).reinterpretShape(INTS, 0);
                IntVector h1 = (IntVector) LongVector.broadcast(LONGS, (long) I64_LE.get(w, q + QS + 8) ^ FLIP).reinterpretShape(INTS, 0);
                FloatVector s = ((FloatVector) h0.lanewise(LSHL, low).lanewise(ASHR, 28).convertShape(I2F, FLOATS, 0)).fma(FloatVector.fromArray(FLOATS, x, c), zero);
                s = ((FloatVector) h0.lanewise(LSHL, high).lanewise(ASHR, 28).convertShape(I2F, FLOATS, 0)).fma(FloatVector.fromArray(FLOATS, x, c + 8), s);
                s = ((FloatVector) h1.lanewise(LSHL, low).lanewise(ASHR, 28).convertShape(I2F, FLOATS, 0)).fma(FloatVector.fromArray(FLOATS, x, c + 16), s);
                s = ((FloatVector) h1.lanewise(LSHL, high).lanewise(ASHR, 28).convertShape(I2F, FLOATS, 0)).fma(FloatVector.fromArray(FLOATS, x, c + 24), s);
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
        int blocks = cols / BlockQ4_0.VALUES;
        for (int l0 = 0; l0 < 8; l0 += PASS) {
            IntVector low = IntVector.fromArray(INTS, LOW, l0), high = IntVector.fromArray(INTS, HIGH, l0);
            FloatVector zero = FloatVector.zero(FLOATS), acc = zero;
            for (int b = 0; b < blocks; b++) {
                long q = p + (long) b * BYTES;
                int c = xo + 32 * b + l0;
                FloatVector d = FloatVector.broadcast(FLOATS, f16(w, q));
                IntVector h0 = (IntVector) LongVector.broadcast(LONGS, w.get(SEG_I64, q + QS) ^ FLIP).reinterpretShape(INTS, 0);
                IntVector h1 = (IntVector) LongVector.broadcast(LONGS, w.get(SEG_I64, q + QS + 8) ^ FLIP).reinterpretShape(INTS, 0);
                FloatVector s = ((FloatVector) h0.lanewise(LSHL, low).lanewise(ASHR, 28).convertShape(I2F, FLOATS, 0)).fma(FloatVector.fromArray(FLOATS, x, c), zero);
                s = ((FloatVector) h0.lanewise(LSHL, high).lanewise(ASHR, 28).convertShape(I2F, FLOATS, 0)).fma(FloatVector.fromArray(FLOATS, x, c + 8), s);
                s = ((FloatVector) h1.lanewise(LSHL, low).lanewise(ASHR, 28).convertShape(I2F, FLOATS, 0)).fma(FloatVector.fromArray(FLOATS, x, c + 16), s);
                s = ((FloatVector) h1.lanewise(LSHL, high).lanewise(ASHR, 28).convertShape(I2F, FLOATS, 0)).fma(FloatVector.fromArray(FLOATS, x, c + 24), s);
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
        int blocks = cols / BlockQ4_0.VALUES;
        for (int l0 = 0; l0 < 8; l0 += PASS) {
            IntVector low = IntVector.fromArray(INTS, LOW, l0), high = IntVector.fromArray(INTS, HIGH, l0);
            FloatVector zero = FloatVector.zero(FLOATS);
            FloatVector a0 = zero, a1 = zero, a2 = zero, a3 = zero;
            for (int b = 0; b < blocks; b++) {
                int q = p + b * BYTES, c = 32 * b + l0;
                FloatVector d = FloatVector.broadcast(FLOATS, f16(w, q));
                IntVector h0 = (IntVector) LongVector.broadcast(LONGS, (long) I64_LE.get(w, q + QS) ^ FLIP).reinterpretShape(INTS, 0);
                IntVector h1 = (IntVector) LongVector.broadcast(LONGS, (long) I64_LE.get(w, q + QS + 8) ^ FLIP).reinterpretShape(INTS, 0);
                FloatVector g0 = (FloatVector) h0.lanewise(LSHL, low).lanewise(ASHR, 28).convertShape(I2F, FLOATS, 0);
                FloatVector g1 = (FloatVector) h0.lanewise(LSHL, high).lanewise(ASHR, 28).convertShape(I2F, FLOATS, 0);
                FloatVector g2 = (FloatVector) h1.lanewise(LSHL, low).lanewise(ASHR, 28).convertShape(I2F, FLOATS, 0);
                FloatVector g3 = (FloatVector) h1.lanewise(LSHL, high).lanewise(ASHR, 28).convertShape(I2F, FLOATS, 0);
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
