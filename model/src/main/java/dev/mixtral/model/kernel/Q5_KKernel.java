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
 * tested in the loop stays a test per group (measured 5-14% on Q4_K). Row pairs at 512 bits as in {@link Q4_KKernel}.
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
        int blocks = cols / BlockQ5_K.VALUES;
        for (int k = 0; k < 16; k += ROW_PAIR_PASS) { // k: the pass's first lane of 16, row A's 0-7 and row B's 8-15
            int p = k < 8 ? pa : pb;
            int l0 = k & 7, r = k & 8; // r: where the pass's row keeps its scales (row B's 8 further)
            FloatVector acc = FloatVector.zero(PAIR_FLOATS);
            for (int b = 0; b < blocks; b++) {
                int blk = p + b * BYTES, blkB = pb + b * BYTES;
                KScales.unpack(w, blk, lanes, r);
                if (PAIRED) KScales.unpack(w, blkB, lanes, 8);
                acc = FloatVector.fromArray(PAIR_FLOATS, lanes, KScales.MINS + k)
                        .fma(FloatVector.fromArray(PAIR_FLOATS, x, xo + X_COPIES * (cols + 8 * b) + l0), acc);
                IntVector qh;
                if (PAIRED) {
                    int qa = blk + QH, qb = blkB + QH;
                    qh = ByteVector.fromArray(PAIR_INT_BYTES, w, qa).blend(ByteVector.fromArray(PAIR_INT_BYTES, w, qb - 32), ROW_B_BYTES).reinterpretAsInts();
                } else {
                    qh = ByteVector.fromArray(PAIR_INT_BYTES, w, blk + QH + 4 * l0).reinterpretAsInts();
                }
                for (int pair = 0; pair < 4; pair++) {
                    IntVector qs;
                    if (PAIRED) {
                        int qa = blk + QS + 32 * pair, qb = blkB + QS + 32 * pair;
                        qs = ByteVector.fromArray(PAIR_INT_BYTES, w, qa).blend(ByteVector.fromArray(PAIR_INT_BYTES, w, qb - 32), ROW_B_BYTES).reinterpretAsInts();
                    } else {
                        qs = ByteVector.fromArray(PAIR_INT_BYTES, w, blk + QS + 32 * pair + 4 * l0).reinterpretAsInts();
                    }
                    int c = xo + X_COPIES * (256 * b + 64 * pair) + l0, lane = SCALES + r + 4 * (pair & 1) + (pair >> 1); // sub-block 2p's lane (see KScales), 2p + 1's is 2 more
                    FloatVector kLow = FloatVector.broadcast(PAIR_FLOATS, lanes[lane]), kHigh = FloatVector.broadcast(PAIR_FLOATS, lanes[lane + 2]);
                    if (PAIRED) {
                        kLow = kLow.blend(lanes[lane + 8], ROW_B);
                        kHigh = kHigh.blend(lanes[lane + 10], ROW_B);
                    }
                    // sub-block 2p: low nibbles, fifth bits from bit 2p of qh
                    IntVector q = qs.and(0x0F0F0F0F).or(qh.lanewise(LSHR, 2 * pair).and(0x01010101).lanewise(LSHL, 4));
                    FloatVector t = ((FloatVector) q.and(0x1F).convert(I2F, 0)).mul(FloatVector.fromArray(PAIR_FLOATS, x, c));
                    t = ((FloatVector) q.lanewise(LSHR, 8).and(0x1F).convert(I2F, 0)).fma(FloatVector.fromArray(PAIR_FLOATS, x, c + 8 * X_COPIES), t);
                    t = ((FloatVector) q.lanewise(LSHR, 16).and(0x1F).convert(I2F, 0)).fma(FloatVector.fromArray(PAIR_FLOATS, x, c + 16 * X_COPIES), t);
                    t = ((FloatVector) q.lanewise(LSHR, 24).convert(I2F, 0)).fma(FloatVector.fromArray(PAIR_FLOATS, x, c + 24 * X_COPIES), t);
                    acc = t.fma(kLow, acc);
                    // sub-block 2p + 1: high nibbles, bit 2p + 1 of qh
                    q = qs.lanewise(LSHR, 4).and(0x0F0F0F0F).or(qh.lanewise(LSHR, 2 * pair + 1).and(0x01010101).lanewise(LSHL, 4));
                    t = ((FloatVector) q.and(0x1F).convert(I2F, 0)).mul(FloatVector.fromArray(PAIR_FLOATS, x, c + 32 * X_COPIES));
                    t = ((FloatVector) q.lanewise(LSHR, 8).and(0x1F).convert(I2F, 0)).fma(FloatVector.fromArray(PAIR_FLOATS, x, c + 40 * X_COPIES), t);
                    t = ((FloatVector) q.lanewise(LSHR, 16).and(0x1F).convert(I2F, 0)).fma(FloatVector.fromArray(PAIR_FLOATS, x, c + 48 * X_COPIES), t);
                    t = ((FloatVector) q.lanewise(LSHR, 24).convert(I2F, 0)).fma(FloatVector.fromArray(PAIR_FLOATS, x, c + 56 * X_COPIES), t);
                    acc = t.fma(kHigh, acc);
                }
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
        int blocks = cols / BlockQ5_K.VALUES;
        for (int k = 0; k < 16; k += ROW_PAIR_PASS) { // k: the pass's first lane of 16, row A's 0-7 and row B's 8-15
            long p = k < 8 ? pa : pb;
            int l0 = k & 7, r = k & 8; // r: where the pass's row keeps its scales (row B's 8 further)
            FloatVector acc = FloatVector.zero(PAIR_FLOATS);
            for (int b = 0; b < blocks; b++) {
                long blk = p + (long) b * BYTES, blkB = pb + (long) b * BYTES;
                KScales.unpack(w, blk, lanes, r);
                if (PAIRED) KScales.unpack(w, blkB, lanes, 8);
                acc = FloatVector.fromArray(PAIR_FLOATS, lanes, KScales.MINS + k)
                        .fma(FloatVector.fromArray(PAIR_FLOATS, x, xo + X_COPIES * (cols + 8 * b) + l0), acc);
                IntVector qh;
                if (PAIRED) {
                    long qa = blk + QH, qb = blkB + QH;
                    qh = IntVector.fromMemorySegment(PAIR_INTS, w, qa, LE).blend(IntVector.fromMemorySegment(PAIR_INTS, w, qb - 32, LE), ROW_B_INTS);
                } else {
                    qh = IntVector.fromMemorySegment(PAIR_INTS, w, blk + QH + 4 * l0, LE);
                }
                for (int pair = 0; pair < 4; pair++) {
                    IntVector qs;
                    if (PAIRED) {
                        long qa = blk + QS + 32 * pair, qb = blkB + QS + 32 * pair;
                        qs = IntVector.fromMemorySegment(PAIR_INTS, w, qa, LE).blend(IntVector.fromMemorySegment(PAIR_INTS, w, qb - 32, LE), ROW_B_INTS);
                    } else {
                        qs = IntVector.fromMemorySegment(PAIR_INTS, w, blk + QS + 32 * pair + 4 * l0, LE);
                    }
                    int c = xo + X_COPIES * (256 * b + 64 * pair) + l0, lane = SCALES + r + 4 * (pair & 1) + (pair >> 1); // sub-block 2p's lane (see KScales), 2p + 1's is 2 more
                    FloatVector kLow = FloatVector.broadcast(PAIR_FLOATS, lanes[lane]), kHigh = FloatVector.broadcast(PAIR_FLOATS, lanes[lane + 2]);
                    if (PAIRED) {
                        kLow = kLow.blend(lanes[lane + 8], ROW_B);
                        kHigh = kHigh.blend(lanes[lane + 10], ROW_B);
                    }
                    // sub-block 2p: low nibbles, fifth bits from bit 2p of qh
                    IntVector q = qs.and(0x0F0F0F0F).or(qh.lanewise(LSHR, 2 * pair).and(0x01010101).lanewise(LSHL, 4));
                    FloatVector t = ((FloatVector) q.and(0x1F).convert(I2F, 0)).mul(FloatVector.fromArray(PAIR_FLOATS, x, c));
                    t = ((FloatVector) q.lanewise(LSHR, 8).and(0x1F).convert(I2F, 0)).fma(FloatVector.fromArray(PAIR_FLOATS, x, c + 8 * X_COPIES), t);
                    t = ((FloatVector) q.lanewise(LSHR, 16).and(0x1F).convert(I2F, 0)).fma(FloatVector.fromArray(PAIR_FLOATS, x, c + 16 * X_COPIES), t);
                    t = ((FloatVector) q.lanewise(LSHR, 24).convert(I2F, 0)).fma(FloatVector.fromArray(PAIR_FLOATS, x, c + 24 * X_COPIES), t);
                    acc = t.fma(kLow, acc);
                    // sub-block 2p + 1: high nibbles, bit 2p + 1 of qh
                    q = qs.lanewise(LSHR, 4).and(0x0F0F0F0F).or(qh.lanewise(LSHR, 2 * pair + 1).and(0x01010101).lanewise(LSHL, 4));
                    t = ((FloatVector) q.and(0x1F).convert(I2F, 0)).mul(FloatVector.fromArray(PAIR_FLOATS, x, c + 32 * X_COPIES));
                    t = ((FloatVector) q.lanewise(LSHR, 8).and(0x1F).convert(I2F, 0)).fma(FloatVector.fromArray(PAIR_FLOATS, x, c + 40 * X_COPIES), t);
                    t = ((FloatVector) q.lanewise(LSHR, 16).and(0x1F).convert(I2F, 0)).fma(FloatVector.fromArray(PAIR_FLOATS, x, c + 48 * X_COPIES), t);
                    t = ((FloatVector) q.lanewise(LSHR, 24).convert(I2F, 0)).fma(FloatVector.fromArray(PAIR_FLOATS, x, c + 56 * X_COPIES), t);
                    acc = t.fma(kHigh, acc);
                }
            }
            acc.intoArray(lanes, lo + k);
        }
    }

    /** Both rows against the 4 tokens: each widened group feeds all 4 tokens. */
    @Override
    public void tile2x4(byte[] w, int pa, int pb, float[] x, int x0, int x1, int x2, int x3, int cols, float[] lanes) {
        int blocks = cols / BlockQ5_K.VALUES;
        for (int k = 0; k < 16; k += ROW_PAIR_PASS) {
            int p = k < 8 ? pa : pb, l0 = k & 7, r = k & 8;
            FloatVector a0 = FloatVector.zero(PAIR_FLOATS), a1 = a0, a2 = a0, a3 = a0;
            for (int b = 0; b < blocks; b++) {
                int blk = p + b * BYTES, blkB = pb + b * BYTES;
                KScales.unpack(w, blk, lanes, r);
                if (PAIRED) KScales.unpack(w, blkB, lanes, 8);
                FloatVector z = FloatVector.fromArray(PAIR_FLOATS, lanes, KScales.MINS + k);
                int s = X_COPIES * (cols + 8 * b) + l0;
                a0 = z.fma(FloatVector.fromArray(PAIR_FLOATS, x, x0 + s), a0);
                a1 = z.fma(FloatVector.fromArray(PAIR_FLOATS, x, x1 + s), a1);
                a2 = z.fma(FloatVector.fromArray(PAIR_FLOATS, x, x2 + s), a2);
                a3 = z.fma(FloatVector.fromArray(PAIR_FLOATS, x, x3 + s), a3);
                IntVector qh;
                if (PAIRED) {
                    int qa = blk + QH, qb = blkB + QH;
                    qh = ByteVector.fromArray(PAIR_INT_BYTES, w, qa).blend(ByteVector.fromArray(PAIR_INT_BYTES, w, qb - 32), ROW_B_BYTES).reinterpretAsInts();
                } else {
                    qh = ByteVector.fromArray(PAIR_INT_BYTES, w, blk + QH + 4 * l0).reinterpretAsInts();
                }
                for (int pair = 0; pair < 4; pair++) {
                    IntVector qs;
                    if (PAIRED) {
                        int qa = blk + QS + 32 * pair, qb = blkB + QS + 32 * pair;
                        qs = ByteVector.fromArray(PAIR_INT_BYTES, w, qa).blend(ByteVector.fromArray(PAIR_INT_BYTES, w, qb - 32), ROW_B_BYTES).reinterpretAsInts();
                    } else {
                        qs = ByteVector.fromArray(PAIR_INT_BYTES, w, blk + QS + 32 * pair + 4 * l0).reinterpretAsInts();
                    }
                    int c = X_COPIES * (256 * b + 64 * pair) + l0, c1 = c + 8 * X_COPIES, c2 = c + 16 * X_COPIES, c3 = c + 24 * X_COPIES;
                    int lane = SCALES + r + 4 * (pair & 1) + (pair >> 1);
                    // sub-block 2p: low nibbles, fifth bits from bit 2p of qh
                    IntVector q = qs.and(0x0F0F0F0F).or(qh.lanewise(LSHR, 2 * pair).and(0x01010101).lanewise(LSHL, 4));
                    FloatVector g0 = (FloatVector) q.and(0x1F).convert(I2F, 0);
                    FloatVector g1 = (FloatVector) q.lanewise(LSHR, 8).and(0x1F).convert(I2F, 0);
                    FloatVector g2 = (FloatVector) q.lanewise(LSHR, 16).and(0x1F).convert(I2F, 0);
                    FloatVector g3 = (FloatVector) q.lanewise(LSHR, 24).convert(I2F, 0);
                    FloatVector kk = FloatVector.broadcast(PAIR_FLOATS, lanes[lane]);
                    if (PAIRED) kk = kk.blend(lanes[lane + 8], ROW_B);
                    a0 = g3.fma(FloatVector.fromArray(PAIR_FLOATS, x, x0 + c3), g2.fma(FloatVector.fromArray(PAIR_FLOATS, x, x0 + c2),
                            g1.fma(FloatVector.fromArray(PAIR_FLOATS, x, x0 + c1), g0.mul(FloatVector.fromArray(PAIR_FLOATS, x, x0 + c))))).fma(kk, a0);
                    a1 = g3.fma(FloatVector.fromArray(PAIR_FLOATS, x, x1 + c3), g2.fma(FloatVector.fromArray(PAIR_FLOATS, x, x1 + c2),
                            g1.fma(FloatVector.fromArray(PAIR_FLOATS, x, x1 + c1), g0.mul(FloatVector.fromArray(PAIR_FLOATS, x, x1 + c))))).fma(kk, a1);
                    a2 = g3.fma(FloatVector.fromArray(PAIR_FLOATS, x, x2 + c3), g2.fma(FloatVector.fromArray(PAIR_FLOATS, x, x2 + c2),
                            g1.fma(FloatVector.fromArray(PAIR_FLOATS, x, x2 + c1), g0.mul(FloatVector.fromArray(PAIR_FLOATS, x, x2 + c))))).fma(kk, a2);
                    a3 = g3.fma(FloatVector.fromArray(PAIR_FLOATS, x, x3 + c3), g2.fma(FloatVector.fromArray(PAIR_FLOATS, x, x3 + c2),
                            g1.fma(FloatVector.fromArray(PAIR_FLOATS, x, x3 + c1), g0.mul(FloatVector.fromArray(PAIR_FLOATS, x, x3 + c))))).fma(kk, a3);
                    // sub-block 2p + 1: high nibbles, fifth bits from bit 2p + 1 of qh
                    c += 32 * X_COPIES;
                    c1 += 32 * X_COPIES;
                    c2 += 32 * X_COPIES;
                    c3 += 32 * X_COPIES;
                    q = qs.lanewise(LSHR, 4).and(0x0F0F0F0F).or(qh.lanewise(LSHR, 2 * pair + 1).and(0x01010101).lanewise(LSHL, 4));
                    g0 = (FloatVector) q.and(0x1F).convert(I2F, 0);
                    g1 = (FloatVector) q.lanewise(LSHR, 8).and(0x1F).convert(I2F, 0);
                    g2 = (FloatVector) q.lanewise(LSHR, 16).and(0x1F).convert(I2F, 0);
                    g3 = (FloatVector) q.lanewise(LSHR, 24).convert(I2F, 0);
                    kk = FloatVector.broadcast(PAIR_FLOATS, lanes[lane + 2]);
                    if (PAIRED) kk = kk.blend(lanes[lane + 10], ROW_B);
                    a0 = g3.fma(FloatVector.fromArray(PAIR_FLOATS, x, x0 + c3), g2.fma(FloatVector.fromArray(PAIR_FLOATS, x, x0 + c2),
                            g1.fma(FloatVector.fromArray(PAIR_FLOATS, x, x0 + c1), g0.mul(FloatVector.fromArray(PAIR_FLOATS, x, x0 + c))))).fma(kk, a0);
                    a1 = g3.fma(FloatVector.fromArray(PAIR_FLOATS, x, x1 + c3), g2.fma(FloatVector.fromArray(PAIR_FLOATS, x, x1 + c2),
                            g1.fma(FloatVector.fromArray(PAIR_FLOATS, x, x1 + c1), g0.mul(FloatVector.fromArray(PAIR_FLOATS, x, x1 + c))))).fma(kk, a1);
                    a2 = g3.fma(FloatVector.fromArray(PAIR_FLOATS, x, x2 + c3), g2.fma(FloatVector.fromArray(PAIR_FLOATS, x, x2 + c2),
                            g1.fma(FloatVector.fromArray(PAIR_FLOATS, x, x2 + c1), g0.mul(FloatVector.fromArray(PAIR_FLOATS, x, x2 + c))))).fma(kk, a2);
                    a3 = g3.fma(FloatVector.fromArray(PAIR_FLOATS, x, x3 + c3), g2.fma(FloatVector.fromArray(PAIR_FLOATS, x, x3 + c2),
                            g1.fma(FloatVector.fromArray(PAIR_FLOATS, x, x3 + c1), g0.mul(FloatVector.fromArray(PAIR_FLOATS, x, x3 + c))))).fma(kk, a3);
                }
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
