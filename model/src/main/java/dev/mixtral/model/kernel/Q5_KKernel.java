package dev.mixtral.model.kernel;

import dev.mixtral.model.tensor.BlockQ5_K;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;

import java.lang.foreign.MemorySegment;

/**
 * Q5_K rows: {@link Q4_KKernel}'s walk, lane order and weight rule (same scales, same nibbles in {@code qs}, see
 * {@link BlockQ5_K}) plus a fifth bit, bit {@code j} of the 32 {@code qh} bytes for sub-block {@code j}
 * ({@code d·sc·q} stays exact: at most 11 + 6 + 5 bits). The 32 {@code qh} bytes are loaded once per
 * super-block as 8 ints, and group g's fifth bits are bit j of byte g of every int, moved to bit 4 by one
 * shift and a mask. Its own class, not a flag of Q4_K's: C2 compiles each kernel body once for every
 * caller, so a flag tested in the loop stays a test per group (measured 5-14% on Q4_K).
 */
final class Q5_KKernel extends RowKernel {
    private static final int BYTES = BlockQ5_K.BYTES, QS = BlockQ5_K.QS, QH = BlockQ5_K.QH;
    @Override
    int[] blockOrder() {
        return INT_BYTES_ORDER;
    }

    /**
     * The 5-bit values of sub-block {@code sub}, {@code half} 0 (low nibbles) or 1 (high), from the qs and qh
     * ints: byte g of every lane holds group g's value, so a group then costs one shift and one mask. The
     * nibbles and the fifth bits of all 4 groups are put together at once (6 operations, where combining
     * each group's took 5).
     */
    private static IntVector values(IntVector qs, IntVector qh, int sub, int half) {
        IntVector low = (half == 0 ? qs : qs.lanewise(LSHR, 4)).and(0x0F0F0F0F);
        return low.or(qh.lanewise(LSHR, sub).and(0x01010101).lanewise(LSHL, 4));
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
        int blocks = cols / BlockQ5_K.VALUES;
        for (int b = 0; b < blocks; b++) {
            int blk = p + b * BYTES;
            float d = Float.float16ToFloat((short) I16_LE.get(w, blk + BlockQ5_K.D)), n = -Float.float16ToFloat((short) I16_LE.get(w, blk + BlockQ5_K.DMIN));
            long sc = KScales.scales(w, blk), mn = KScales.mins(w, blk);
            IntVector qh = ByteVector.fromArray(B32, w, blk + QH).reinterpretAsInts();
            for (int pair = 0; pair < 4; pair++) {
                IntVector qs = ByteVector.fromArray(B32, w, blk + QS + 32 * pair).reinterpretAsInts();
                for (int half = 0; half < 2; half++) { // sub-block 2p + half: low, then high nibbles
                    int sub = 2 * pair + half, c = xo + 256 * b + 32 * sub;
                    FloatVector k = FloatVector.broadcast(F8, d * (sc >>> 8 * sub & 0xFF));
                    FloatVector z = FloatVector.broadcast(F8, n * (mn >>> 8 * sub & 0xFF));
                    IntVector q = values(qs, qh, sub, half);
                    for (int g = 0; g < 4; g++) {
                        acc = ((FloatVector) q.lanewise(LSHR, 8 * g).and(0x1F).convert(I2F, 0)).fma(k, z).fma(FloatVector.fromArray(F8, x, c + 8 * g), acc);
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
        int blocks = cols / BlockQ5_K.VALUES;
        for (int b = 0; b < blocks; b++) {
            long blk = p + (long) b * BYTES;
            float d = Float.float16ToFloat(w.get(SEG_I16, blk + BlockQ5_K.D)), n = -Float.float16ToFloat(w.get(SEG_I16, blk + BlockQ5_K.DMIN));
            long sc = KScales.scales(w, blk), mn = KScales.mins(w, blk);
            IntVector qh = IntVector.fromMemorySegment(I8, w, blk + QH, LE);
            for (int pair = 0; pair < 4; pair++) {
                IntVector qs = IntVector.fromMemorySegment(I8, w, blk + QS + 32 * pair, LE);
                for (int half = 0; half < 2; half++) {
                    int sub = 2 * pair + half, c = xo + 256 * b + 32 * sub;
                    FloatVector k = FloatVector.broadcast(F8, d * (sc >>> 8 * sub & 0xFF));
                    FloatVector z = FloatVector.broadcast(F8, n * (mn >>> 8 * sub & 0xFF));
                    IntVector q = values(qs, qh, sub, half);
                    for (int g = 0; g < 4; g++) {
                        acc = ((FloatVector) q.lanewise(LSHR, 8 * g).and(0x1F).convert(I2F, 0)).fma(k, z).fma(FloatVector.fromArray(F8, x, c + 8 * g), acc);
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
        int blocks = cols / BlockQ5_K.VALUES;
        for (int b = 0; b < blocks; b++) {
            int blk = p + b * BYTES;
            float d = Float.float16ToFloat((short) I16_LE.get(w, blk + BlockQ5_K.D)), n = -Float.float16ToFloat((short) I16_LE.get(w, blk + BlockQ5_K.DMIN));
            long sc = KScales.scales(w, blk), mn = KScales.mins(w, blk);
            IntVector qh = ByteVector.fromArray(B32, w, blk + QH).reinterpretAsInts();
            for (int pair = 0; pair < 4; pair++) {
                IntVector qs = ByteVector.fromArray(B32, w, blk + QS + 32 * pair).reinterpretAsInts();
                for (int half = 0; half < 2; half++) {
                    int sub = 2 * pair + half;
                    FloatVector k = FloatVector.broadcast(F8, d * (sc >>> 8 * sub & 0xFF));
                    FloatVector z = FloatVector.broadcast(F8, n * (mn >>> 8 * sub & 0xFF));
                    IntVector q = values(qs, qh, sub, half);
                    for (int g = 0; g < 4; g++) {
                        int c = 256 * b + 32 * sub + 8 * g;
                        FloatVector wg = ((FloatVector) q.lanewise(LSHR, 8 * g).and(0x1F).convert(I2F, 0)).fma(k, z);
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
