package dev.mixtral.model.kernel;

import dev.mixtral.model.tensor.BlockQ5_K;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;

import java.lang.foreign.MemorySegment;

/**
 * Q5_K rows: {@link Q4_KKernel}'s walk, lane order and summation rule (same scales and mins, same nibbles in
 * {@code qs}, see {@link BlockQ5_K}) with 5-bit values: the fifth bit of sub-block {@code j} is bit {@code j} of the
 * 32 {@code qh} bytes, loaded once per super-block as 8 ints. A sub-block's nibbles and fifth bits are put
 * together once for its 4 groups (byte g of every int then holds group g's value), so a group costs a shift and
 * a mask. Its own class, not a flag of Q4_K's: C2 compiles each kernel body once for every caller, so a flag
 * tested in the loop stays a test per group (measured 5-14% on Q4_K).
 */
public final class Q5_KKernel extends RowKernel {
    private static final int BYTES = BlockQ5_K.BYTES, QS = BlockQ5_K.QS, QH = BlockQ5_K.QH;
    @Override
    int[] blockOrder() {
        return INT_BYTES_ORDER;
    }

    @Override
    int[] blockSumOrder() {
        return KScales.SUB_BLOCK_LANES;
    }

    @Override
    public void rows4(byte[] w, int p0, int p1, int p2, int p3, float[] x, int xo, int cols, float[] lanes) {
        row(w, p0, x, xo, cols, lanes, 0);
        row(w, p1, x, xo, cols, lanes, 8);
        row(w, p2, x, xo, cols, lanes, 16);
        row(w, p3, x, xo, cols, lanes, 24);
    }

    private static void row(byte[] w, int p, float[] x, int xo, int cols, float[] lanes, int lo) {
        int blocks = cols / BlockQ5_K.VALUES;
        for (int l0 = 0; l0 < 8; l0 += PASS) {
            FloatVector acc = FloatVector.zero(FLOATS);
            for (int b = 0; b < blocks; b++) {
                int blk = p + b * BYTES;
                KScales.unpack(w, blk, lanes);
                acc = FloatVector.fromArray(FLOATS, lanes, KScales.MINS + l0)
                        .lanewise(FMA, FloatVector.fromArray(FLOATS, x, xo + cols + 8 * b + l0), acc);
                IntVector qh = (IntVector) ByteVector.fromArray(INT_BYTES, w, blk + QH + 4 * l0).reinterpretShape(INTS, 0);
                for (int pair = 0; pair < 4; pair++) {
                    IntVector qs = (IntVector) ByteVector.fromArray(INT_BYTES, w, blk + QS + 32 * pair + 4 * l0).reinterpretShape(INTS, 0);
                    int c = xo + 256 * b + 64 * pair + l0, lane = SCALES + 4 * (pair & 1) + (pair >> 1); // sub-block 2p's lane (see KScales), 2p + 1's is 2 more
                    // sub-block 2p: low nibbles, fifth bits from bit 2p of qh
                    IntVector q = qs.lanewise(AND, INT_0x0F0F0F0F).lanewise(OR, qh.lanewise(LSHR, 2 * pair).lanewise(AND, INT_0x01010101).lanewise(LSHL, INT_4));
                    FloatVector t = ((FloatVector) q.lanewise(AND, INT_0x1F).convertShape(I2F, FLOATS, 0)).lanewise(MUL, FloatVector.fromArray(FLOATS, x, c));
                    t = ((FloatVector) q.lanewise(LSHR, INT_8).lanewise(AND, INT_0x1F).convertShape(I2F, FLOATS, 0)).lanewise(FMA, FloatVector.fromArray(FLOATS, x, c + 8), t);
                    t = ((FloatVector) q.lanewise(LSHR, INT_16).lanewise(AND, INT_0x1F).convertShape(I2F, FLOATS, 0)).lanewise(FMA, FloatVector.fromArray(FLOATS, x, c + 16), t);
                    t = ((FloatVector) q.lanewise(LSHR, INT_24).convertShape(I2F, FLOATS, 0)).lanewise(FMA, FloatVector.fromArray(FLOATS, x, c + 24), t);
                    acc = t.lanewise(FMA, FloatVector.broadcast(FLOATS, lanes[lane]), acc);
                    // sub-block 2p + 1: high nibbles, bit 2p + 1 of qh
                    q = qs.lanewise(LSHR, INT_4).lanewise(AND, INT_0x0F0F0F0F).lanewise(OR, qh.lanewise(LSHR, 2 * pair + 1).lanewise(AND, INT_0x01010101).lanewise(LSHL, INT_4));
                    t = ((FloatVector) q.lanewise(AND, INT_0x1F).convertShape(I2F, FLOATS, 0)).lanewise(MUL, FloatVector.fromArray(FLOATS, x, c + 32));
                    t = ((FloatVector) q.lanewise(LSHR, INT_8).lanewise(AND, INT_0x1F).convertShape(I2F, FLOATS, 0)).lanewise(FMA, FloatVector.fromArray(FLOATS, x, c + 40), t);
                    t = ((FloatVector) q.lanewise(LSHR, INT_16).lanewise(AND, INT_0x1F).convertShape(I2F, FLOATS, 0)).lanewise(FMA, FloatVector.fromArray(FLOATS, x, c + 48), t);
                    t = ((FloatVector) q.lanewise(LSHR, INT_24).convertShape(I2F, FLOATS, 0)).lanewise(FMA, FloatVector.fromArray(FLOATS, x, c + 56), t);
                    acc = t.lanewise(FMA, FloatVector.broadcast(FLOATS, lanes[lane + 2]), acc);
                }
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
        int blocks = cols / BlockQ5_K.VALUES;
        for (int l0 = 0; l0 < 8; l0 += PASS) {
            FloatVector acc = FloatVector.zero(FLOATS);
            for (int b = 0; b < blocks; b++) {
                long blk = p + (long) b * BYTES;
                KScales.unpack(w, blk, lanes);
                acc = FloatVector.fromArray(FLOATS, lanes, KScales.MINS + l0)
                        .lanewise(FMA, FloatVector.fromArray(FLOATS, x, xo + cols + 8 * b + l0), acc);
                IntVector qh = IntVector.fromMemorySegment(INTS, w, blk + QH + 4 * l0, LE);
                for (int pair = 0; pair < 4; pair++) {
                    IntVector qs = IntVector.fromMemorySegment(INTS, w, blk + QS + 32 * pair + 4 * l0, LE);
                    int c = xo + 256 * b + 64 * pair + l0, lane = SCALES + 4 * (pair & 1) + (pair >> 1); // sub-block 2p's lane (see KScales), 2p + 1's is 2 more
                    // sub-block 2p: low nibbles, fifth bits from bit 2p of qh
                    IntVector q = qs.lanewise(AND, INT_0x0F0F0F0F).lanewise(OR, qh.lanewise(LSHR, 2 * pair).lanewise(AND, INT_0x01010101).lanewise(LSHL, INT_4));
                    FloatVector t = ((FloatVector) q.lanewise(AND, INT_0x1F).convertShape(I2F, FLOATS, 0)).lanewise(MUL, FloatVector.fromArray(FLOATS, x, c));
                    t = ((FloatVector) q.lanewise(LSHR, INT_8).lanewise(AND, INT_0x1F).convertShape(I2F, FLOATS, 0)).lanewise(FMA, FloatVector.fromArray(FLOATS, x, c + 8), t);
                    t = ((FloatVector) q.lanewise(LSHR, INT_16).lanewise(AND, INT_0x1F).convertShape(I2F, FLOATS, 0)).lanewise(FMA, FloatVector.fromArray(FLOATS, x, c + 16), t);
                    t = ((FloatVector) q.lanewise(LSHR, INT_24).convertShape(I2F, FLOATS, 0)).lanewise(FMA, FloatVector.fromArray(FLOATS, x, c + 24), t);
                    acc = t.lanewise(FMA, FloatVector.broadcast(FLOATS, lanes[lane]), acc);
                    // sub-block 2p + 1: high nibbles, bit 2p + 1 of qh
                    q = qs.lanewise(LSHR, INT_4).lanewise(AND, INT_0x0F0F0F0F).lanewise(OR, qh.lanewise(LSHR, 2 * pair + 1).lanewise(AND, INT_0x01010101).lanewise(LSHL, INT_4));
                    t = ((FloatVector) q.lanewise(AND, INT_0x1F).convertShape(I2F, FLOATS, 0)).lanewise(MUL, FloatVector.fromArray(FLOATS, x, c + 32));
                    t = ((FloatVector) q.lanewise(LSHR, INT_8).lanewise(AND, INT_0x1F).convertShape(I2F, FLOATS, 0)).lanewise(FMA, FloatVector.fromArray(FLOATS, x, c + 40), t);
                    t = ((FloatVector) q.lanewise(LSHR, INT_16).lanewise(AND, INT_0x1F).convertShape(I2F, FLOATS, 0)).lanewise(FMA, FloatVector.fromArray(FLOATS, x, c + 48), t);
                    t = ((FloatVector) q.lanewise(LSHR, INT_24).convertShape(I2F, FLOATS, 0)).lanewise(FMA, FloatVector.fromArray(FLOATS, x, c + 56), t);
                    acc = t.lanewise(FMA, FloatVector.broadcast(FLOATS, lanes[lane + 2]), acc);
                }
            }
            acc.intoArray(lanes, lo + l0);
        }
    }

    /** A row at a time against the 4 tokens: each widened group feeds all 4 tokens. */
    @Override
    public void tile2x4(byte[] w, int p0, int p1, float[] x, int x0, int x1, int x2, int x3, int cols, float[] lanes) {
        row1x4(w, p0, x, x0, x1, x2, x3, cols, lanes, 0);
        row1x4(w, p1, x, x0, x1, x2, x3, cols, lanes, 32);
    }

    private static void row1x4(byte[] w, int p, float[] x, int x0, int x1, int x2, int x3, int cols, float[] lanes, int lo) {
        int blocks = cols / BlockQ5_K.VALUES;
        for (int l0 = 0; l0 < 8; l0 += PASS) {
            FloatVector a0 = FloatVector.zero(FLOATS), a1 = a0, a2 = a0, a3 = a0;
            for (int b = 0; b < blocks; b++) {
                int blk = p + b * BYTES;
                KScales.unpack(w, blk, lanes);
                FloatVector z = FloatVector.fromArray(FLOATS, lanes, KScales.MINS + l0);
                int s = cols + 8 * b + l0;
                a0 = z.lanewise(FMA, FloatVector.fromArray(FLOATS, x, x0 + s), a0);
                a1 = z.lanewise(FMA, FloatVector.fromArray(FLOATS, x, x1 + s), a1);
                a2 = z.lanewise(FMA, FloatVector.fromArray(FLOATS, x, x2 + s), a2);
                a3 = z.lanewise(FMA, FloatVector.fromArray(FLOATS, x, x3 + s), a3);
                IntVector qh = (IntVector) ByteVector.fromArray(INT_BYTES, w, blk + QH + 4 * l0).reinterpretShape(INTS, 0);
                for (int pair = 0; pair < 4; pair++) {
                    IntVector qs = (IntVector) ByteVector.fromArray(INT_BYTES, w, blk + QS + 32 * pair + 4 * l0).reinterpretShape(INTS, 0);
                    int c = 256 * b + 64 * pair + l0;
                    // sub-block 2p: low nibbles, fifth bits from bit 2p of qh
                    IntVector q = qs.lanewise(AND, INT_0x0F0F0F0F).lanewise(OR, qh.lanewise(LSHR, 2 * pair).lanewise(AND, INT_0x01010101).lanewise(LSHL, INT_4));
                    FloatVector g0 = (FloatVector) q.lanewise(AND, INT_0x1F).convertShape(I2F, FLOATS, 0);
                    FloatVector g1 = (FloatVector) q.lanewise(LSHR, INT_8).lanewise(AND, INT_0x1F).convertShape(I2F, FLOATS, 0);
                    FloatVector g2 = (FloatVector) q.lanewise(LSHR, INT_16).lanewise(AND, INT_0x1F).convertShape(I2F, FLOATS, 0);
                    FloatVector g3 = (FloatVector) q.lanewise(LSHR, INT_24).convertShape(I2F, FLOATS, 0);
                    FloatVector k = FloatVector.broadcast(FLOATS, lanes[SCALES + 4 * (pair & 1) + (pair >> 1)]);
                    a0 = g3.lanewise(FMA, FloatVector.fromArray(FLOATS, x, x0 + c + 24), g2.lanewise(FMA, FloatVector.fromArray(FLOATS, x, x0 + c + 16),
                            g1.lanewise(FMA, FloatVector.fromArray(FLOATS, x, x0 + c + 8), g0.lanewise(MUL, FloatVector.fromArray(FLOATS, x, x0 + c))))).lanewise(FMA, k, a0);
                    a1 = g3.lanewise(FMA, FloatVector.fromArray(FLOATS, x, x1 + c + 24), g2.lanewise(FMA, FloatVector.fromArray(FLOATS, x, x1 + c + 16),
                            g1.lanewise(FMA, FloatVector.fromArray(FLOATS, x, x1 + c + 8), g0.lanewise(MUL, FloatVector.fromArray(FLOATS, x, x1 + c))))).lanewise(FMA, k, a1);
                    a2 = g3.lanewise(FMA, FloatVector.fromArray(FLOATS, x, x2 + c + 24), g2.lanewise(FMA, FloatVector.fromArray(FLOATS, x, x2 + c + 16),
                            g1.lanewise(FMA, FloatVector.fromArray(FLOATS, x, x2 + c + 8), g0.lanewise(MUL, FloatVector.fromArray(FLOATS, x, x2 + c))))).lanewise(FMA, k, a2);
                    a3 = g3.lanewise(FMA, FloatVector.fromArray(FLOATS, x, x3 + c + 24), g2.lanewise(FMA, FloatVector.fromArray(FLOATS, x, x3 + c + 16),
                            g1.lanewise(FMA, FloatVector.fromArray(FLOATS, x, x3 + c + 8), g0.lanewise(MUL, FloatVector.fromArray(FLOATS, x, x3 + c))))).lanewise(FMA, k, a3);
                    // sub-block 2p + 1: high nibbles, fifth bits from bit 2p + 1 of qh
                    q = qs.lanewise(LSHR, INT_4).lanewise(AND, INT_0x0F0F0F0F).lanewise(OR, qh.lanewise(LSHR, 2 * pair + 1).lanewise(AND, INT_0x01010101).lanewise(LSHL, INT_4));
                    g0 = (FloatVector) q.lanewise(AND, INT_0x1F).convertShape(I2F, FLOATS, 0);
                    g1 = (FloatVector) q.lanewise(LSHR, INT_8).lanewise(AND, INT_0x1F).convertShape(I2F, FLOATS, 0);
                    g2 = (FloatVector) q.lanewise(LSHR, INT_16).lanewise(AND, INT_0x1F).convertShape(I2F, FLOATS, 0);
                    g3 = (FloatVector) q.lanewise(LSHR, INT_24).convertShape(I2F, FLOATS, 0);
                    k = FloatVector.broadcast(FLOATS, lanes[SCALES + 4 * (pair & 1) + (pair >> 1) + 2]);
                    a0 = g3.lanewise(FMA, FloatVector.fromArray(FLOATS, x, x0 + c + 56), g2.lanewise(FMA, FloatVector.fromArray(FLOATS, x, x0 + c + 48),
                            g1.lanewise(FMA, FloatVector.fromArray(FLOATS, x, x0 + c + 40), g0.lanewise(MUL, FloatVector.fromArray(FLOATS, x, x0 + c + 32))))).lanewise(FMA, k, a0);
                    a1 = g3.lanewise(FMA, FloatVector.fromArray(FLOATS, x, x1 + c + 56), g2.lanewise(FMA, FloatVector.fromArray(FLOATS, x, x1 + c + 48),
                            g1.lanewise(FMA, FloatVector.fromArray(FLOATS, x, x1 + c + 40), g0.lanewise(MUL, FloatVector.fromArray(FLOATS, x, x1 + c + 32))))).lanewise(FMA, k, a1);
                    a2 = g3.lanewise(FMA, FloatVector.fromArray(FLOATS, x, x2 + c + 56), g2.lanewise(FMA, FloatVector.fromArray(FLOATS, x, x2 + c + 48),
                            g1.lanewise(FMA, FloatVector.fromArray(FLOATS, x, x2 + c + 40), g0.lanewise(MUL, FloatVector.fromArray(FLOATS, x, x2 + c + 32))))).lanewise(FMA, k, a2);
                    a3 = g3.lanewise(FMA, FloatVector.fromArray(FLOATS, x, x3 + c + 56), g2.lanewise(FMA, FloatVector.fromArray(FLOATS, x, x3 + c + 48),
                            g1.lanewise(FMA, FloatVector.fromArray(FLOATS, x, x3 + c + 40), g0.lanewise(MUL, FloatVector.fromArray(FLOATS, x, x3 + c + 32))))).lanewise(FMA, k, a3);
                }
            }
            a0.intoArray(lanes, lo + l0);
            a1.intoArray(lanes, lo + 8 + l0);
            a2.intoArray(lanes, lo + 16 + l0);
            a3.intoArray(lanes, lo + 24 + l0);
        }
    }
}
