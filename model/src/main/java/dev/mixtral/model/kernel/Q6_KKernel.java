package dev.mixtral.model.kernel;

import dev.mixtral.model.tensor.BlockQ6_K;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Q6_K rows (super-blocks of 256 as 16 sub-blocks of 16 with int8 scales; layout in {@link BlockQ6_K}).
 * Value {@code 128·h + 32·k + l} takes the low ({@code k < 2}) or high nibble of {@code ql[64·h + 32·(k & 1) + l]}
 * and bits {@code 2k, 2k+1} of {@code qh[32·h + l]}. Each 32-value chunk (h, k) loads its 32 {@code ql} bytes and
 * its 32 {@code qh} bytes as 8 ints each; group g (0-3) takes byte g of every int by shifts and masks within
 * the lanes (no cross-lane byte widening, slow on this machine kind's Zen 3 CPUs, see {@link Q8_0Kernel}), so
 * lane j of group g is {@code l = 4j + g}: the order of {@link Q8_0Kernel}, in which {@link MatMul} hands over
 * the activations ({@link #blockOrder}); lanes 0-3 belong to the chunk's first sub-block, 4-7 to its second.
 * A weight is {@code fma(q, s, −32·s)} with {@code s = d·sc} (exact), which rounds {@code s·(q − 32)} once, as
 * {@code Dequantize} does; each group then takes {@code acc = fma(w_g, x_g, acc)}: {@link RowKernel}'s rule
 * in this group order.
 */
final class Q6_KKernel extends RowKernel {
    private static final int BYTES = BlockQ6_K.BYTES;
    /** Lanes 4-7: the chunk's second sub-block. */
    private static final VectorMask<Float> UPPER = VectorMask.fromLong(F8, 0xF0);
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

    /**
     * The 6-bit values of chunk (h, k) from its ql and qh ints: byte g of every lane holds group g's value, so a
     * group then costs one shift and one mask. The nibbles and the high bit pairs of all 4 groups are put
     * together at once (6 operations, where combining each group's took 5).
     */
    private static IntVector values(IntVector ql, IntVector qh, int k) {
        IntVector low = ((k >> 1) == 0 ? ql : ql.lanewise(LSHR, 4)).and(0x0F0F0F0F);
        return low.or(qh.lanewise(LSHR, 2 * k).and(0x03030303).lanewise(LSHL, 4));
    }

    private static void row(byte[] w, int p, float[] x, int xo, int cols, float[] lanes, int lo) {
        FloatVector acc = FloatVector.zero(F8);
        int blocks = cols / BlockQ6_K.VALUES;
        for (int b = 0; b < blocks; b++) {
            int blk = p + b * BYTES;
            float d = Float.float16ToFloat((short) I16_LE.get(w, blk + BlockQ6_K.D));
            for (int h = 0; h < 2; h++) {
                IntVector qh = ByteVector.fromArray(B32, w, blk + BlockQ6_K.QH + 32 * h).reinterpretAsInts();
                for (int k = 0; k < 4; k++) {
                    int sub = blk + BlockQ6_K.SCALES + 8 * h + 2 * k, c = xo + 256 * b + 128 * h + 32 * k;
                    FloatVector s = FloatVector.broadcast(F8, d * w[sub]).blend(d * w[sub + 1], UPPER);
                    FloatVector m = s.mul(-32);
                    IntVector ql = ByteVector.fromArray(B32, w, blk + BlockQ6_K.QL + 64 * h + 32 * (k & 1)).reinterpretAsInts();
                    IntVector q = values(ql, qh, k);
                    for (int g = 0; g < 4; g++) {
                        acc = ((FloatVector) q.lanewise(LSHR, 8 * g).and(0x3F).convert(I2F, 0)).fma(s, m).fma(FloatVector.fromArray(F8, x, c + 8 * g), acc);
                    }
                }
            }
        }
        acc.intoArray(lanes, lo);
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
        FloatVector acc = FloatVector.zero(F8);
        int blocks = cols / BlockQ6_K.VALUES;
        for (int b = 0; b < blocks; b++) {
            long blk = p + (long) b * BYTES;
            float d = Float.float16ToFloat(w.get(SEG_I16, blk + BlockQ6_K.D));
            for (int h = 0; h < 2; h++) {
                IntVector qh = IntVector.fromMemorySegment(I8, w, blk + BlockQ6_K.QH + 32 * h, LE);
                for (int k = 0; k < 4; k++) {
                    long sub = blk + BlockQ6_K.SCALES + 8 * h + 2 * k;
                    int c = xo + 256 * b + 128 * h + 32 * k;
                    FloatVector s = FloatVector.broadcast(F8, d * w.get(ValueLayout.JAVA_BYTE, sub))
                            .blend(d * w.get(ValueLayout.JAVA_BYTE, sub + 1), UPPER);
                    FloatVector m = s.mul(-32);
                    IntVector ql = IntVector.fromMemorySegment(I8, w, blk + BlockQ6_K.QL + 64 * h + 32 * (k & 1), LE);
                    IntVector q = values(ql, qh, k);
                    for (int g = 0; g < 4; g++) {
                        acc = ((FloatVector) q.lanewise(LSHR, 8 * g).and(0x3F).convert(I2F, 0)).fma(s, m).fma(FloatVector.fromArray(F8, x, c + 8 * g), acc);
                    }
                }
            }
        }
        acc.intoArray(lanes, lo);
    }

    /** A row at a time against the 4 tokens: each widened group feeds all 4 tokens. */
    @Override
    public void tile2x4(byte[] w, int p0, int p1, float[] x, int x0, int x1, int x2, int x3, int cols, float[] lanes) {
        row1x4(w, p0, x, x0, x1, x2, x3, cols, lanes, 0);
        row1x4(w, p1, x, x0, x1, x2, x3, cols, lanes, 32);
    }

    private static void row1x4(byte[] w, int p, float[] x, int x0, int x1, int x2, int x3, int cols, float[] lanes, int lo) {
        FloatVector a0 = FloatVector.zero(F8), a1 = a0, a2 = a0, a3 = a0;
        int blocks = cols / BlockQ6_K.VALUES;
        for (int b = 0; b < blocks; b++) {
            int blk = p + b * BYTES;
            float d = Float.float16ToFloat((short) I16_LE.get(w, blk + BlockQ6_K.D));
            for (int h = 0; h < 2; h++) {
                IntVector qh = ByteVector.fromArray(B32, w, blk + BlockQ6_K.QH + 32 * h).reinterpretAsInts();
                for (int k = 0; k < 4; k++) {
                    int sub = blk + BlockQ6_K.SCALES + 8 * h + 2 * k;
                    FloatVector s = FloatVector.broadcast(F8, d * w[sub]).blend(d * w[sub + 1], UPPER);
                    FloatVector m = s.mul(-32);
                    IntVector ql = ByteVector.fromArray(B32, w, blk + BlockQ6_K.QL + 64 * h + 32 * (k & 1)).reinterpretAsInts();
                    IntVector q = values(ql, qh, k);
                    for (int g = 0; g < 4; g++) {
                        int c = 256 * b + 128 * h + 32 * k + 8 * g;
                        FloatVector wg = ((FloatVector) q.lanewise(LSHR, 8 * g).and(0x3F).convert(I2F, 0)).fma(s, m);
                        a0 = wg.fma(FloatVector.fromArray(F8, x, x0 + c), a0);
                        a1 = wg.fma(FloatVector.fromArray(F8, x, x1 + c), a1);
                        a2 = wg.fma(FloatVector.fromArray(F8, x, x2 + c), a2);
                        a3 = wg.fma(FloatVector.fromArray(F8, x, x3 + c), a3);
                    }
                }
            }
        }
        a0.intoArray(lanes, lo);
        a1.intoArray(lanes, lo + 8);
        a2.intoArray(lanes, lo + 16);
        a3.intoArray(lanes, lo + 24);
    }
}
