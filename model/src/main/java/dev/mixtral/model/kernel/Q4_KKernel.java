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
 * {@link MatMul} hands over the activations ({@link #blockOrder}).
 *
 * <p>The sub-block scale and min are factored out of each sub-block's dot product, as llama.cpp does: one FMA
 * per weight, and one step of the accumulator's dependency chain per sub-block, where the per-weight form
 * ({@code w = fma(q, d·sc, −dmin·m)}, then {@code acc = fma(w, x, acc)}) takes one per 8 weights and is bound by
 * that chain's latency (1.7× slower, one core, rows in cache). The rule, for one (row,
 * token) pair, in every kernel shape ({@link #rows4} from the array or the segment, {@link #tile2x4}):
 * <pre>
 *   acc = 0 (8 lanes)
 *   for each super-block b in column order:
 *     K = d·sc[{@link KScales#SUB_BLOCK_LANES}],  Z = −dmin·m[SUB_BLOCK_LANES]    (8 lanes; exact)
 *     acc = fma(Z, S_b, acc)       S_b: the sums of the token's 8 sub-blocks of 32 activations, lanes in the
 *                                  same order ({@link MatMul} computes them, {@link #blockSumOrder})
 *     for each sub-block j = 0..7, with q_g its 4 groups of 8 values (0..15, exact in f32), x_g their activations:
 *       t = q_0·x_0;  for g = 1, 2, 3:  t = fma(q_g, x_g, t)                                (lanewise)
 *       acc = fma(t, K_j, acc)                                                            (K_j broadcast)
 *   result = {@link VectorMath#sumLanes}(acc)
 * </pre>
 * It takes the place of the per-weight order described in {@link RowKernel}; like it, it depends on nothing but
 * the row and the token. {@link Q5_KKernel} follows the same rule with its 5-bit values. Every shape runs one row
 * per lane group, as {@link Q8_0Kernel} does (at 512 bits a pair of rows per pass, A in lanes 0-7 and B in 8-15).
 */
public final class Q4_KKernel extends RowKernel {
    private static final int BYTES = BlockQ4_K.BYTES, QS = BlockQ4_K.QS;

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
        int blocks = cols / BlockQ4_K.VALUES;
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
                for (int pair = 0; pair < 4; pair++) {
                    int c = xo + X_COPIES * (256 * b + 64 * pair) + l0, lane = SCALES + r + 4 * (pair & 1) + (pair >> 1); // sub-block 2p's lane (see KScales), 2p + 1's is 2 more
                    IntVector v;
                    if (PAIRED) {
                        int qa = blk + QS + 32 * pair, qb = blkB + QS + 32 * pair;
                        v = ByteVector.fromArray(PAIR_INT_BYTES, w, qa).blend(ByteVector.fromArray(PAIR_INT_BYTES, w, qb - 32), ROW_B_BYTES).reinterpretAsInts();
                    } else {
                        v = ByteVector.fromArray(PAIR_INT_BYTES, w, blk + QS + 32 * pair + 4 * l0).reinterpretAsInts();
                    }
                    FloatVector kLow = FloatVector.broadcast(PAIR_FLOATS, lanes[lane]), kHigh = FloatVector.broadcast(PAIR_FLOATS, lanes[lane + 2]);
                    if (PAIRED) {
                        kLow = kLow.blend(lanes[lane + 8], ROW_B);
                        kHigh = kHigh.blend(lanes[lane + 10], ROW_B);
                    }
                    FloatVector t = ((FloatVector) v.and(0x0F).convert(I2F, 0)).mul(FloatVector.fromArray(PAIR_FLOATS, x, c));
                    t = ((FloatVector) v.lanewise(LSHR, 8).and(0x0F).convert(I2F, 0)).fma(FloatVector.fromArray(PAIR_FLOATS, x, c + 8 * X_COPIES), t);
                    t = ((FloatVector) v.lanewise(LSHR, 16).and(0x0F).convert(I2F, 0)).fma(FloatVector.fromArray(PAIR_FLOATS, x, c + 16 * X_COPIES), t);
                    t = ((FloatVector) v.lanewise(LSHR, 24).and(0x0F).convert(I2F, 0)).fma(FloatVector.fromArray(PAIR_FLOATS, x, c + 24 * X_COPIES), t);
                    acc = t.fma(kLow, acc);
                    t = ((FloatVector) v.lanewise(LSHR, 4).and(0x0F).convert(I2F, 0)).mul(FloatVector.fromArray(PAIR_FLOATS, x, c + 32 * X_COPIES));
                    t = ((FloatVector) v.lanewise(LSHR, 12).and(0x0F).convert(I2F, 0)).fma(FloatVector.fromArray(PAIR_FLOATS, x, c + 40 * X_COPIES), t);
                    t = ((FloatVector) v.lanewise(LSHR, 20).and(0x0F).convert(I2F, 0)).fma(FloatVector.fromArray(PAIR_FLOATS, x, c + 48 * X_COPIES), t);
                    t = ((FloatVector) v.lanewise(LSHR, 28).convert(I2F, 0)).fma(FloatVector.fromArray(PAIR_FLOATS, x, c + 56 * X_COPIES), t);
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
        int blocks = cols / BlockQ4_K.VALUES;
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
                for (int pair = 0; pair < 4; pair++) {
                    int c = xo + X_COPIES * (256 * b + 64 * pair) + l0, lane = SCALES + r + 4 * (pair & 1) + (pair >> 1); // sub-block 2p's lane (see KScales), 2p + 1's is 2 more
                    IntVector v;
                    if (PAIRED) {
                        long qa = blk + QS + 32 * pair, qb = blkB + QS + 32 * pair;
                        v = IntVector.fromMemorySegment(PAIR_INTS, w, qa, LE).blend(IntVector.fromMemorySegment(PAIR_INTS, w, qb - 32, LE), ROW_B_INTS);
                    } else {
                        v = IntVector.fromMemorySegment(PAIR_INTS, w, blk + QS + 32 * pair + 4 * l0, LE);
                    }
                    FloatVector kLow = FloatVector.broadcast(PAIR_FLOATS, lanes[lane]), kHigh = FloatVector.broadcast(PAIR_FLOATS, lanes[lane + 2]);
                    if (PAIRED) {
                        kLow = kLow.blend(lanes[lane + 8], ROW_B);
                        kHigh = kHigh.blend(lanes[lane + 10], ROW_B);
                    }
                    FloatVector t = ((FloatVector) v.and(0x0F).convert(I2F, 0)).mul(FloatVector.fromArray(PAIR_FLOATS, x, c));
                    t = ((FloatVector) v.lanewise(LSHR, 8).and(0x0F).convert(I2F, 0)).fma(FloatVector.fromArray(PAIR_FLOATS, x, c + 8 * X_COPIES), t);
                    t = ((FloatVector) v.lanewise(LSHR, 16).and(0x0F).convert(I2F, 0)).fma(FloatVector.fromArray(PAIR_FLOATS, x, c + 16 * X_COPIES), t);
                    t = ((FloatVector) v.lanewise(LSHR, 24).and(0x0F).convert(I2F, 0)).fma(FloatVector.fromArray(PAIR_FLOATS, x, c + 24 * X_COPIES), t);
                    acc = t.fma(kLow, acc);
                    t = ((FloatVector) v.lanewise(LSHR, 4).and(0x0F).convert(I2F, 0)).mul(FloatVector.fromArray(PAIR_FLOATS, x, c + 32 * X_COPIES));
                    t = ((FloatVector) v.lanewise(LSHR, 12).and(0x0F).convert(I2F, 0)).fma(FloatVector.fromArray(PAIR_FLOATS, x, c + 40 * X_COPIES), t);
                    t = ((FloatVector) v.lanewise(LSHR, 20).and(0x0F).convert(I2F, 0)).fma(FloatVector.fromArray(PAIR_FLOATS, x, c + 48 * X_COPIES), t);
                    t = ((FloatVector) v.lanewise(LSHR, 28).convert(I2F, 0)).fma(FloatVector.fromArray(PAIR_FLOATS, x, c + 56 * X_COPIES), t);
                    acc = t.fma(kHigh, acc);
                }
            }
            acc.intoArray(lanes, lo + k);
        }
    }

    /** Both rows against the 4 tokens: each widened group feeds all 4 tokens. */
    @Override
    public void tile2x4(byte[] w, int pa, int pb, float[] x, int x0, int x1, int x2, int x3, int cols, float[] lanes) {
        int blocks = cols / BlockQ4_K.VALUES;
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
                for (int pair = 0; pair < 4; pair++) {
                    IntVector v;
                    if (PAIRED) {
                        int qa = blk + QS + 32 * pair, qb = blkB + QS + 32 * pair;
                        v = ByteVector.fromArray(PAIR_INT_BYTES, w, qa).blend(ByteVector.fromArray(PAIR_INT_BYTES, w, qb - 32), ROW_B_BYTES).reinterpretAsInts();
                    } else {
                        v = ByteVector.fromArray(PAIR_INT_BYTES, w, blk + QS + 32 * pair + 4 * l0).reinterpretAsInts();
                    }
                    int c = X_COPIES * (256 * b + 64 * pair) + l0, c1 = c + 8 * X_COPIES, c2 = c + 16 * X_COPIES, c3 = c + 24 * X_COPIES;
                    int lane = SCALES + r + 4 * (pair & 1) + (pair >> 1);
                    // sub-block 2p: low nibbles
                    FloatVector g0 = (FloatVector) v.and(0x0F).convert(I2F, 0);
                    FloatVector g1 = (FloatVector) v.lanewise(LSHR, 8).and(0x0F).convert(I2F, 0);
                    FloatVector g2 = (FloatVector) v.lanewise(LSHR, 16).and(0x0F).convert(I2F, 0);
                    FloatVector g3 = (FloatVector) v.lanewise(LSHR, 24).and(0x0F).convert(I2F, 0);
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
                    // sub-block 2p + 1: high nibbles
                    c += 32 * X_COPIES;
                    c1 += 32 * X_COPIES;
                    c2 += 32 * X_COPIES;
                    c3 += 32 * X_COPIES;
                    g0 = (FloatVector) v.lanewise(LSHR, 4).and(0x0F).convert(I2F, 0);
                    g1 = (FloatVector) v.lanewise(LSHR, 12).and(0x0F).convert(I2F, 0);
                    g2 = (FloatVector) v.lanewise(LSHR, 20).and(0x0F).convert(I2F, 0);
                    g3 = (FloatVector) v.lanewise(LSHR, 28).convert(I2F, 0);
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
