package dev.mixtral.model.kernel;

import dev.mixtral.model.tensor.BlockQ4_K;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;

import java.lang.foreign.MemorySegment;

/**
 * Q4_K rows (super-blocks of 256 as 8 sub-blocks of 32 with 6-bit scales and mins; layout in {@link BlockQ4_K}).
 * Sub-blocks {@code 2p} and {@code 2p+1} are the low and the high nibbles of the same 32 quant bytes, which
 * are loaded once as 8 ints: group g (0-3) of sub-block 2p is the low nibble of byte g of every int
 * ({@code v >>> 8g & 0xF}), of sub-block 2p+1 the high nibble ({@code v >>> 8g + 4 & 0xF}) — shifts and masks
 * within each lane, no cross-lane byte widening (slow on this machine kind's Zen 3 CPUs, see {@link Q8_0Kernel}).
 * So lane j of group g is the column {@code 4j + g} of its sub-block, the order of {@link Q8_0Kernel}, in which
 * {@link MatMul} hands over the activations ({@link #blockOrder}). A weight is {@code fma(q, d·sc, −dmin·m)},
 * equal to {@code Dequantize}'s {@code d·sc·q − dmin·m} because {@code d·sc·q} is exact (at most 11 + 6 + 4 bits);
 * each group then takes {@code acc = fma(w_g, x_g, acc)}: {@link RowKernel}'s rule in this group order.
 * The scales of a super-block are unpacked once ({@link KScales}), not per sub-block.
 */
final class Q4_KKernel extends RowKernel {
    private static final int BYTES = BlockQ4_K.BYTES, QS = BlockQ4_K.QS;
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
        FloatVector acc = FloatVector.zero(F8);
        int blocks = cols / BlockQ4_K.VALUES;
        for (int b = 0; b < blocks; b++) {
            int blk = p + b * BYTES;
            float d = Float.float16ToFloat((short) I16_LE.get(w, blk + BlockQ4_K.D)), n = -Float.float16ToFloat((short) I16_LE.get(w, blk + BlockQ4_K.DMIN));
            long sc = KScales.scales(w, blk), mn = KScales.mins(w, blk);
            for (int pair = 0; pair < 4; pair++) {
                int s = (int) (sc >>> 16 * pair), m = (int) (mn >>> 16 * pair);
                int c = xo + 256 * b + 64 * pair;
                IntVector v = ByteVector.fromArray(B32, w, blk + QS + 32 * pair).reinterpretAsInts();
                // sub-block 2p: low nibbles
                FloatVector k = FloatVector.broadcast(F8, d * (s & 0xFF)), z = FloatVector.broadcast(F8, n * (m & 0xFF));
                acc = ((FloatVector) v.and(0x0F).convert(I2F, 0)).fma(k, z).fma(FloatVector.fromArray(F8, x, c), acc);
                acc = ((FloatVector) v.lanewise(LSHR, 8).and(0x0F).convert(I2F, 0)).fma(k, z).fma(FloatVector.fromArray(F8, x, c + 8), acc);
                acc = ((FloatVector) v.lanewise(LSHR, 16).and(0x0F).convert(I2F, 0)).fma(k, z).fma(FloatVector.fromArray(F8, x, c + 16), acc);
                acc = ((FloatVector) v.lanewise(LSHR, 24).and(0x0F).convert(I2F, 0)).fma(k, z).fma(FloatVector.fromArray(F8, x, c + 24), acc);
                // sub-block 2p + 1: high nibbles
                k = FloatVector.broadcast(F8, d * (s >>> 8 & 0xFF));
                z = FloatVector.broadcast(F8, n * (m >>> 8 & 0xFF));
                acc = ((FloatVector) v.lanewise(LSHR, 4).and(0x0F).convert(I2F, 0)).fma(k, z).fma(FloatVector.fromArray(F8, x, c + 32), acc);
                acc = ((FloatVector) v.lanewise(LSHR, 12).and(0x0F).convert(I2F, 0)).fma(k, z).fma(FloatVector.fromArray(F8, x, c + 40), acc);
                acc = ((FloatVector) v.lanewise(LSHR, 20).and(0x0F).convert(I2F, 0)).fma(k, z).fma(FloatVector.fromArray(F8, x, c + 48), acc);
                acc = ((FloatVector) v.lanewise(LSHR, 28).convert(I2F, 0)).fma(k, z).fma(FloatVector.fromArray(F8, x, c + 56), acc);
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
        int blocks = cols / BlockQ4_K.VALUES;
        for (int b = 0; b < blocks; b++) {
            long blk = p + (long) b * BYTES;
            float d = Float.float16ToFloat(w.get(SEG_I16, blk + BlockQ4_K.D)), n = -Float.float16ToFloat(w.get(SEG_I16, blk + BlockQ4_K.DMIN));
            long sc = KScales.scales(w, blk), mn = KScales.mins(w, blk);
            for (int pair = 0; pair < 4; pair++) {
                int s = (int) (sc >>> 16 * pair), m = (int) (mn >>> 16 * pair);
                int c = xo + 256 * b + 64 * pair;
                IntVector v = IntVector.fromMemorySegment(I8, w, blk + QS + 32 * pair, LE);
                FloatVector k = FloatVector.broadcast(F8, d * (s & 0xFF)), z = FloatVector.broadcast(F8, n * (m & 0xFF));
                acc = ((FloatVector) v.and(0x0F).convert(I2F, 0)).fma(k, z).fma(FloatVector.fromArray(F8, x, c), acc);
                acc = ((FloatVector) v.lanewise(LSHR, 8).and(0x0F).convert(I2F, 0)).fma(k, z).fma(FloatVector.fromArray(F8, x, c + 8), acc);
                acc = ((FloatVector) v.lanewise(LSHR, 16).and(0x0F).convert(I2F, 0)).fma(k, z).fma(FloatVector.fromArray(F8, x, c + 16), acc);
                acc = ((FloatVector) v.lanewise(LSHR, 24).and(0x0F).convert(I2F, 0)).fma(k, z).fma(FloatVector.fromArray(F8, x, c + 24), acc);
                k = FloatVector.broadcast(F8, d * (s >>> 8 & 0xFF));
                z = FloatVector.broadcast(F8, n * (m >>> 8 & 0xFF));
                acc = ((FloatVector) v.lanewise(LSHR, 4).and(0x0F).convert(I2F, 0)).fma(k, z).fma(FloatVector.fromArray(F8, x, c + 32), acc);
                acc = ((FloatVector) v.lanewise(LSHR, 12).and(0x0F).convert(I2F, 0)).fma(k, z).fma(FloatVector.fromArray(F8, x, c + 40), acc);
                acc = ((FloatVector) v.lanewise(LSHR, 20).and(0x0F).convert(I2F, 0)).fma(k, z).fma(FloatVector.fromArray(F8, x, c + 48), acc);
                acc = ((FloatVector) v.lanewise(LSHR, 28).convert(I2F, 0)).fma(k, z).fma(FloatVector.fromArray(F8, x, c + 56), acc);
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
        int blocks = cols / BlockQ4_K.VALUES;
        for (int b = 0; b < blocks; b++) {
            int blk = p + b * BYTES;
            float d = Float.float16ToFloat((short) I16_LE.get(w, blk + BlockQ4_K.D)), n = -Float.float16ToFloat((short) I16_LE.get(w, blk + BlockQ4_K.DMIN));
            long sc = KScales.scales(w, blk), mn = KScales.mins(w, blk);
            for (int pair = 0; pair < 4; pair++) {
                int s = (int) (sc >>> 16 * pair), m = (int) (mn >>> 16 * pair);
                IntVector v = ByteVector.fromArray(B32, w, blk + QS + 32 * pair).reinterpretAsInts();
                for (int half = 0; half < 2; half++) { // sub-block 2p + half: low, then high nibbles
                    FloatVector k = FloatVector.broadcast(F8, d * (s >>> 8 * half & 0xFF));
                    FloatVector z = FloatVector.broadcast(F8, n * (m >>> 8 * half & 0xFF));
                    for (int g = 0; g < 4; g++) {
                        int c = 256 * b + 64 * pair + 32 * half + 8 * g;
                        FloatVector wg = ((FloatVector) v.lanewise(LSHR, 8 * g + 4 * half).and(0x0F).convert(I2F, 0)).fma(k, z);
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
