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
 * the row and the token. {@link Q5_KKernel} follows the same rule with its 5-bit values.
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
    public void rows4(byte[] w, int p0, int p1, int p2, int p3, float[] x, int xo, int cols, float[] lanes) {
        row(w, p0, x, xo, cols, lanes, 0);
        row(w, p1, x, xo, cols, lanes, 8);
        row(w, p2, x, xo, cols, lanes, 16);
        row(w, p3, x, xo, cols, lanes, 24);
    }

    private static void row(byte[] w, int p, float[] x, int xo, int cols, float[] lanes, int lo) {
        int blocks = cols / BlockQ4_K.VALUES;
        for (int l0 = 0; l0 < 8; l0 += PASS) {
            FloatVector acc = FloatVector.zero(FLOATS);
            for (int b = 0; b < blocks; b++) {
                int blk = p + b * BYTES;
                KScales.unpack(w, blk, lanes);
                acc = FloatVector.fromArray(FLOATS, lanes, KScales.MINS + l0)
                        .lanewise(FMA, FloatVector.fromArray(FLOATS, x, xo + cols + 8 * b + l0), acc);
                for (int pair = 0; pair < 4; pair++) {
                    int c = xo + 256 * b + 64 * pair + l0, lane = SCALES + 4 * (pair & 1) + (pair >> 1); // sub-block 2p's lane (see KScales), 2p + 1's is 2 more
                    IntVector v = (IntVector) ByteVector.fromArray(INT_BYTES, w, blk + QS + 32 * pair + 4 * l0).reinterpretShape(INTS, 0);
                    FloatVector t = ((FloatVector) v.lanewise(AND, INT_0x0F).convertShape(I2F, FLOATS, 0)).lanewise(MUL, FloatVector.fromArray(FLOATS, x, c));
                    t = ((FloatVector) v.lanewise(LSHR, INT_8).lanewise(AND, INT_0x0F).convertShape(I2F, FLOATS, 0)).lanewise(FMA, FloatVector.fromArray(FLOATS, x, c + 8), t);
                    t = ((FloatVector) v.lanewise(LSHR, INT_16).lanewise(AND, INT_0x0F).convertShape(I2F, FLOATS, 0)).lanewise(FMA, FloatVector.fromArray(FLOATS, x, c + 16), t);
                    t = ((FloatVector) v.lanewise(LSHR, INT_24).lanewise(AND, INT_0x0F).convertShape(I2F, FLOATS, 0)).lanewise(FMA, FloatVector.fromArray(FLOATS, x, c + 24), t);
                    acc = t.lanewise(FMA, FloatVector.broadcast(FLOATS, lanes[lane]), acc);
                    t = ((FloatVector) v.lanewise(LSHR, INT_4).lanewise(AND, INT_0x0F).convertShape(I2F, FLOATS, 0)).lanewise(MUL, FloatVector.fromArray(FLOATS, x, c + 32));
                    t = ((FloatVector) v.lanewise(LSHR, INT_12).lanewise(AND, INT_0x0F).convertShape(I2F, FLOATS, 0)).lanewise(FMA, FloatVector.fromArray(FLOATS, x, c + 40), t);
                    t = ((FloatVector) v.lanewise(LSHR, INT_20).lanewise(AND, INT_0x0F).convertShape(I2F, FLOATS, 0)).lanewise(FMA, FloatVector.fromArray(FLOATS, x, c + 48), t);
                    t = ((FloatVector) v.lanewise(LSHR, INT_28).convertShape(I2F, FLOATS, 0)).lanewise(FMA, FloatVector.fromArray(FLOATS, x, c + 56), t);
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
        int blocks = cols / BlockQ4_K.VALUES;
        for (int l0 = 0; l0 < 8; l0 += PASS) {
            FloatVector acc = FloatVector.zero(FLOATS);
            for (int b = 0; b < blocks; b++) {
                long blk = p + (long) b * BYTES;
                KScales.unpack(w, blk, lanes);
                acc = FloatVector.fromArray(FLOATS, lanes, KScales.MINS + l0)
                        .lanewise(FMA, FloatVector.fromArray(FLOATS, x, xo + cols + 8 * b + l0), acc);
                for (int pair = 0; pair < 4; pair++) {
                    int c = xo + 256 * b + 64 * pair + l0, lane = SCALES + 4 * (pair & 1) + (pair >> 1); // sub-block 2p's lane (see KScales), 2p + 1's is 2 more
                    IntVector v = IntVector.fromMemorySegment(INTS, w, blk + QS + 32 * pair + 4 * l0, LE);
                    FloatVector t = ((FloatVector) v.lanewise(AND, INT_0x0F).convertShape(I2F, FLOATS, 0)).lanewise(MUL, FloatVector.fromArray(FLOATS, x, c));
                    t = ((FloatVector) v.lanewise(LSHR, INT_8).lanewise(AND, INT_0x0F).convertShape(I2F, FLOATS, 0)).lanewise(FMA, FloatVector.fromArray(FLOATS, x, c + 8), t);
                    t = ((FloatVector) v.lanewise(LSHR, INT_16).lanewise(AND, INT_0x0F).convertShape(I2F, FLOATS, 0)).lanewise(FMA, FloatVector.fromArray(FLOATS, x, c + 16), t);
                    t = ((FloatVector) v.lanewise(LSHR, INT_24).lanewise(AND, INT_0x0F).convertShape(I2F, FLOATS, 0)).lanewise(FMA, FloatVector.fromArray(FLOATS, x, c + 24), t);
                    acc = t.lanewise(FMA, FloatVector.broadcast(FLOATS, lanes[lane]), acc);
                    t = ((FloatVector) v.lanewise(LSHR, INT_4).lanewise(AND, INT_0x0F).convertShape(I2F, FLOATS, 0)).lanewise(MUL, FloatVector.fromArray(FLOATS, x, c + 32));
                    t = ((FloatVector) v.lanewise(LSHR, INT_12).lanewise(AND, INT_0x0F).convertShape(I2F, FLOATS, 0)).lanewise(FMA, FloatVector.fromArray(FLOATS, x, c + 40), t);
                    t = ((FloatVector) v.lanewise(LSHR, INT_20).lanewise(AND, INT_0x0F).convertShape(I2F, FLOATS, 0)).lanewise(FMA, FloatVector.fromArray(FLOATS, x, c + 48), t);
                    t = ((FloatVector) v.lanewise(LSHR, INT_28).convertShape(I2F, FLOATS, 0)).lanewise(FMA, FloatVector.fromArray(FLOATS, x, c + 56), t);
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
        int blocks = cols / BlockQ4_K.VALUES;
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
                for (int pair = 0; pair < 4; pair++) {
                    IntVector v = (IntVector) ByteVector.fromArray(INT_BYTES, w, blk + QS + 32 * pair + 4 * l0).reinterpretShape(INTS, 0);
                    int c = 256 * b + 64 * pair + l0;
                    // sub-block 2p: low nibbles
                    FloatVector g0 = (FloatVector) v.lanewise(AND, INT_0x0F).convertShape(I2F, FLOATS, 0);
                    FloatVector g1 = (FloatVector) v.lanewise(LSHR, INT_8).lanewise(AND, INT_0x0F).convertShape(I2F, FLOATS, 0);
                    FloatVector g2 = (FloatVector) v.lanewise(LSHR, INT_16).lanewise(AND, INT_0x0F).convertShape(I2F, FLOATS, 0);
                    FloatVector g3 = (FloatVector) v.lanewise(LSHR, INT_24).lanewise(AND, INT_0x0F).convertShape(I2F, FLOATS, 0);
                    FloatVector k = FloatVector.broadcast(FLOATS, lanes[SCALES + 4 * (pair & 1) + (pair >> 1)]);
                    a0 = g3.lanewise(FMA, FloatVector.fromArray(FLOATS, x, x0 + c + 24), g2.lanewise(FMA, FloatVector.fromArray(FLOATS, x, x0 + c + 16),
                            g1.lanewise(FMA, FloatVector.fromArray(FLOATS, x, x0 + c + 8), g0.lanewise(MUL, FloatVector.fromArray(FLOATS, x, x0 + c))))).lanewise(FMA, k, a0);
                    a1 = g3.lanewise(FMA, FloatVector.fromArray(FLOATS, x, x1 + c + 24), g2.lanewise(FMA, FloatVector.fromArray(FLOATS, x, x1 + c + 16),
                            g1.lanewise(FMA, FloatVector.fromArray(FLOATS, x, x1 + c + 8), g0.lanewise(MUL, FloatVector.fromArray(FLOATS, x, x1 + c))))).lanewise(FMA, k, a1);
                    a2 = g3.lanewise(FMA, FloatVector.fromArray(FLOATS, x, x2 + c + 24), g2.lanewise(FMA, FloatVector.fromArray(FLOATS, x, x2 + c + 16),
                            g1.lanewise(FMA, FloatVector.fromArray(FLOATS, x, x2 + c + 8), g0.lanewise(MUL, FloatVector.fromArray(FLOATS, x, x2 + c))))).lanewise(FMA, k, a2);
                    a3 = g3.lanewise(FMA, FloatVector.fromArray(FLOATS, x, x3 + c + 24), g2.lanewise(FMA, FloatVector.fromArray(FLOATS, x, x3 + c + 16),
                            g1.lanewise(FMA, FloatVector.fromArray(FLOATS, x, x3 + c + 8), g0.lanewise(MUL, FloatVector.fromArray(FLOATS, x, x3 + c))))).lanewise(FMA, k, a3);
                    // sub-block 2p + 1: high nibbles
                    g0 = (FloatVector) v.lanewise(LSHR, INT_4).lanewise(AND, INT_0x0F).convertShape(I2F, FLOATS, 0);
                    g1 = (FloatVector) v.lanewise(LSHR, INT_12).lanewise(AND, INT_0x0F).convertShape(I2F, FLOATS, 0);
                    g2 = (FloatVector) v.lanewise(LSHR, INT_20).lanewise(AND, INT_0x0F).convertShape(I2F, FLOATS, 0);
                    g3 = (FloatVector) v.lanewise(LSHR, INT_28).convertShape(I2F, FLOATS, 0);
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
