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
 * and bits {@code 2k, 2k+1} of {@code qh[32·h + l]}. Each half h loads its 32 {@code qh} bytes and its two 32-byte
 * runs of {@code ql} as 8 ints each; a 32-value chunk (h, k) puts its nibbles and high bit pairs together once
 * (byte g of every int then holds group g's 6-bit value, XORed with 32), and group g (0-3) takes byte g of every
 * int sign-extended by two shifts, which is {@code q − 32} (−32..31, exact in f32) — shifts and masks within
 * the lanes (no cross-lane byte widening, slow on this machine kind's Zen 3 CPUs, see {@link Q8_0Kernel}). So
 * lane j of group g is {@code l = 4j + g}: the order of {@link Q8_0Kernel}, in which {@link MatMul} hands over
 * the activations ({@link #blockOrder}); lanes 0-3 belong to the chunk's first sub-block of 16, 4-7 to its second.
 *
 * <p>The sub-block scales are factored out of each chunk's dot product, as for {@link Q4_KKernel} (one FMA per
 * weight, one step of the accumulator's chain per 32 weights: 1.4× faster than per weight, one core, rows in
 * cache). The rule, for one (row, token) pair, in every kernel shape:
 * <pre>
 *   acc = 0 (8 lanes)
 *   for each chunk (b, h, k) in column order, with S = d·sc of its two sub-blocks (lanes 0-3, 4-7; exact):
 *     t = (q_0 − 32)·x_0;  for g = 1, 2, 3:  t = fma(q_g − 32, x_g, t)                     (lanewise)
 *     acc = fma(t, S, acc)
 *   result = {@link VectorMath#sumLanes}(acc)
 * </pre>
 * It takes the place of the per-weight order described in {@link RowKernel}; like it, it depends on nothing but
 * the row and the token. Decode spells the four chunks of a half out (a loop over them, with the nibble
 * choice inside, is 1.6× slower); the 4-token tile loops (its unrolled form is ~20% slower per token).
 */
public final class Q6_KKernel extends RowKernel {
    // Each body below computes one pass (lanes l0 .. l0 + PASS) and the callers loop over the passes: with that
    // loop inside the bodies, around their nested block loops, the 256-bit kernel ran 10-30% slower in 3 of 4
    // alternating runs (one thread, rows in cache); as here it matches the single-width kernel within the noise.
    private static final int BYTES = BlockQ6_K.BYTES;
    /**
     * Lanes 4-7 of an 8-lane pass: the chunk's second sub-block. A 4-lane pass lies within one sub-block, which
     * it picks by its first lane ({@code sub + (l0 >> 2)}); its mask is empty.
     */
    private static final VectorMask<Float> UPPER = VectorMask.fromLong(FLOATS, 0xF0);
    @Override
    int[] blockOrder() {
        return INT_BYTES_ORDER;
    }

    @Override
    public void rows4(byte[] w, int p0, int p1, int p2, int p3, float[] x, int xo, int cols, float[] lanes) {
        for (int l0 = 0; l0 < 8; l0 += PASS) {
            row(w, p0, x, xo, cols, lanes, 0, l0);
            row(w, p1, x, xo, cols, lanes, 8, l0);
            row(w, p2, x, xo, cols, lanes, 16, l0);
            row(w, p3, x, xo, cols, lanes, 24, l0);
        }
    }

    private static void row(byte[] w, int p, float[] x, int xo, int cols, float[] lanes, int lo, int l0) {
        int blocks = cols / BlockQ6_K.VALUES;
        FloatVector acc = FloatVector.zero(FLOATS);
        for (int b = 0; b < blocks; b++) {
            int blk = p + b * BYTES;
            float d = Float.float16ToFloat((short) I16_LE.get(w, blk + BlockQ6_K.D));
            for (int h = 0; h < 2; h++) {
                IntVector qh = (IntVector) ByteVector.fromArray(INT_BYTES, w, blk + BlockQ6_K.QH + 32 * h + 4 * l0).reinterpretShape(INTS, 0);
                IntVector ql0 = (IntVector) ByteVector.fromArray(INT_BYTES, w, blk + BlockQ6_K.QL + 64 * h + 4 * l0).reinterpretShape(INTS, 0);
                IntVector ql1 = (IntVector) ByteVector.fromArray(INT_BYTES, w, blk + BlockQ6_K.QL + 64 * h + 32 + 4 * l0).reinterpretShape(INTS, 0);
                int sub = blk + BlockQ6_K.SCALES + 8 * h;
                int c = xo + 256 * b + 128 * h + l0;
                IntVector q;
                FloatVector t;
                // chunk 0: low nibbles of ql 0-31, qh bits 0-1
                FloatVector s = FloatVector.broadcast(FLOATS, d * w[sub + (l0 >> 2)]).blend(FloatVector.broadcast(FLOATS, d * w[sub + 1]), UPPER);
                q = ql0.lanewise(AND, INT_0x0F0F0F0F).lanewise(OR, qh.lanewise(AND, INT_0x03030303).lanewise(LSHL, INT_4)).lanewise(XOR, INT_0x20202020);
                t = ((FloatVector) q.lanewise(LSHL, INT_26).lanewise(ASHR, INT_26).convertShape(I2F, FLOATS, 0)).lanewise(MUL, FloatVector.fromArray(FLOATS, x, c));
                t = ((FloatVector) q.lanewise(LSHL, INT_18).lanewise(ASHR, INT_26).convertShape(I2F, FLOATS, 0)).lanewise(FMA, FloatVector.fromArray(FLOATS, x, c + 8), t);
                t = ((FloatVector) q.lanewise(LSHL, INT_10).lanewise(ASHR, INT_26).convertShape(I2F, FLOATS, 0)).lanewise(FMA, FloatVector.fromArray(FLOATS, x, c + 16), t);
                t = ((FloatVector) q.lanewise(LSHL, INT_2).lanewise(ASHR, INT_26).convertShape(I2F, FLOATS, 0)).lanewise(FMA, FloatVector.fromArray(FLOATS, x, c + 24), t);
                acc = t.lanewise(FMA, s, acc);
                // chunk 1: low nibbles of ql 32-63, qh bits 2-3
                s = FloatVector.broadcast(FLOATS, d * w[sub + 2 + (l0 >> 2)]).blend(FloatVector.broadcast(FLOATS, d * w[sub + 3]), UPPER);
                q = ql1.lanewise(AND, INT_0x0F0F0F0F).lanewise(OR, qh.lanewise(LSHL, INT_2).lanewise(AND, INT_0x30303030)).lanewise(XOR, INT_0x20202020);
                t = ((FloatVector) q.lanewise(LSHL, INT_26).lanewise(ASHR, INT_26).convertShape(I2F, FLOATS, 0)).lanewise(MUL, FloatVector.fromArray(FLOATS, x, c + 32));
                t = ((FloatVector) q.lanewise(LSHL, INT_18).lanewise(ASHR, INT_26).convertShape(I2F, FLOATS, 0)).lanewise(FMA, FloatVector.fromArray(FLOATS, x, c + 40), t);
                t = ((FloatVector) q.lanewise(LSHL, INT_10).lanewise(ASHR, INT_26).convertShape(I2F, FLOATS, 0)).lanewise(FMA, FloatVector.fromArray(FLOATS, x, c + 48), t);
                t = ((FloatVector) q.lanewise(LSHL, INT_2).lanewise(ASHR, INT_26).convertShape(I2F, FLOATS, 0)).lanewise(FMA, FloatVector.fromArray(FLOATS, x, c + 56), t);
                acc = t.lanewise(FMA, s, acc);
                // chunk 2: high nibbles of ql 0-31, qh bits 4-5
                s = FloatVector.broadcast(FLOATS, d * w[sub + 4 + (l0 >> 2)]).blend(FloatVector.broadcast(FLOATS, d * w[sub + 5]), UPPER);
                q = ql0.lanewise(LSHR, INT_4).lanewise(AND, INT_0x0F0F0F0F).lanewise(OR, qh.lanewise(AND, INT_0x30303030)).lanewise(XOR, INT_0x20202020);
                t = ((FloatVector) q.lanewise(LSHL, INT_26).lanewise(ASHR, INT_26).convertShape(I2F, FLOATS, 0)).lanewise(MUL, FloatVector.fromArray(FLOATS, x, c + 64));
                t = ((FloatVector) q.lanewise(LSHL, INT_18).lanewise(ASHR, INT_26).convertShape(I2F, FLOATS, 0)).lanewise(FMA, FloatVector.fromArray(FLOATS, x, c + 72), t);
                t = ((FloatVector) q.lanewise(LSHL, INT_10).lanewise(ASHR, INT_26).convertShape(I2F, FLOATS, 0)).lanewise(FMA, FloatVector.fromArray(FLOATS, x, c + 80), t);
                t = ((FloatVector) q.lanewise(LSHL, INT_2).lanewise(ASHR, INT_26).convertShape(I2F, FLOATS, 0)).lanewise(FMA, FloatVector.fromArray(FLOATS, x, c + 88), t);
                acc = t.lanewise(FMA, s, acc);
                // chunk 3: high nibbles of ql 32-63, qh bits 6-7
                s = FloatVector.broadcast(FLOATS, d * w[sub + 6 + (l0 >> 2)]).blend(FloatVector.broadcast(FLOATS, d * w[sub + 7]), UPPER);
                q = ql1.lanewise(LSHR, INT_4).lanewise(AND, INT_0x0F0F0F0F).lanewise(OR, qh.lanewise(LSHR, INT_2).lanewise(AND, INT_0x30303030)).lanewise(XOR, INT_0x20202020);
                t = ((FloatVector) q.lanewise(LSHL, INT_26).lanewise(ASHR, INT_26).convertShape(I2F, FLOATS, 0)).lanewise(MUL, FloatVector.fromArray(FLOATS, x, c + 96));
                t = ((FloatVector) q.lanewise(LSHL, INT_18).lanewise(ASHR, INT_26).convertShape(I2F, FLOATS, 0)).lanewise(FMA, FloatVector.fromArray(FLOATS, x, c + 104), t);
                t = ((FloatVector) q.lanewise(LSHL, INT_10).lanewise(ASHR, INT_26).convertShape(I2F, FLOATS, 0)).lanewise(FMA, FloatVector.fromArray(FLOATS, x, c + 112), t);
                t = ((FloatVector) q.lanewise(LSHL, INT_2).lanewise(ASHR, INT_26).convertShape(I2F, FLOATS, 0)).lanewise(FMA, FloatVector.fromArray(FLOATS, x, c + 120), t);
                acc = t.lanewise(FMA, s, acc);
            }
        }
        acc.intoArray(lanes, lo + l0);
    }

    /** Straight from the mapped segment: the same operations as {@link #row}, the loads from the segment. */
    @Override
    public boolean rows4(MemorySegment w, long p0, long p1, long p2, long p3, float[] x, int xo, int cols, float[] lanes) {
        for (int l0 = 0; l0 < 8; l0 += PASS) {
            row(w, p0, x, xo, cols, lanes, 0, l0);
            row(w, p1, x, xo, cols, lanes, 8, l0);
            row(w, p2, x, xo, cols, lanes, 16, l0);
            row(w, p3, x, xo, cols, lanes, 24, l0);
        }
        return true;
    }

    private static void row(MemorySegment w, long p, float[] x, int xo, int cols, float[] lanes, int lo, int l0) {
        int blocks = cols / BlockQ6_K.VALUES;
        FloatVector acc = FloatVector.zero(FLOATS);
        for (int b = 0; b < blocks; b++) {
            long blk = p + (long) b * BYTES;
            float d = Float.float16ToFloat(w.get(SEG_I16, blk + BlockQ6_K.D));
            for (int h = 0; h < 2; h++) {
                IntVector qh = IntVector.fromMemorySegment(INTS, w, blk + BlockQ6_K.QH + 32 * h + 4 * l0, LE);
                IntVector ql0 = IntVector.fromMemorySegment(INTS, w, blk + BlockQ6_K.QL + 64 * h + 4 * l0, LE);
                IntVector ql1 = IntVector.fromMemorySegment(INTS, w, blk + BlockQ6_K.QL + 64 * h + 32 + 4 * l0, LE);
                long sub = blk + BlockQ6_K.SCALES + 8 * h;
                int c = xo + 256 * b + 128 * h + l0;
                IntVector q;
                FloatVector t;
                // chunk 0: low nibbles of ql 0-31, qh bits 0-1
                FloatVector s = FloatVector.broadcast(FLOATS, d * w.get(ValueLayout.JAVA_BYTE, sub + (l0 >> 2))).blend(FloatVector.broadcast(FLOATS, d * w.get(ValueLayout.JAVA_BYTE, sub + 1)), UPPER);
                q = ql0.lanewise(AND, INT_0x0F0F0F0F).lanewise(OR, qh.lanewise(AND, INT_0x03030303).lanewise(LSHL, INT_4)).lanewise(XOR, INT_0x20202020);
                t = ((FloatVector) q.lanewise(LSHL, INT_26).lanewise(ASHR, INT_26).convertShape(I2F, FLOATS, 0)).lanewise(MUL, FloatVector.fromArray(FLOATS, x, c));
                t = ((FloatVector) q.lanewise(LSHL, INT_18).lanewise(ASHR, INT_26).convertShape(I2F, FLOATS, 0)).lanewise(FMA, FloatVector.fromArray(FLOATS, x, c + 8), t);
                t = ((FloatVector) q.lanewise(LSHL, INT_10).lanewise(ASHR, INT_26).convertShape(I2F, FLOATS, 0)).lanewise(FMA, FloatVector.fromArray(FLOATS, x, c + 16), t);
                t = ((FloatVector) q.lanewise(LSHL, INT_2).lanewise(ASHR, INT_26).convertShape(I2F, FLOATS, 0)).lanewise(FMA, FloatVector.fromArray(FLOATS, x, c + 24), t);
                acc = t.lanewise(FMA, s, acc);
                // chunk 1: low nibbles of ql 32-63, qh bits 2-3
                s = FloatVector.broadcast(FLOATS, d * w.get(ValueLayout.JAVA_BYTE, sub + 2 + (l0 >> 2))).blend(FloatVector.broadcast(FLOATS, d * w.get(ValueLayout.JAVA_BYTE, sub + 3)), UPPER);
                q = ql1.lanewise(AND, INT_0x0F0F0F0F).lanewise(OR, qh.lanewise(LSHL, INT_2).lanewise(AND, INT_0x30303030)).lanewise(XOR, INT_0x20202020);
                t = ((FloatVector) q.lanewise(LSHL, INT_26).lanewise(ASHR, INT_26).convertShape(I2F, FLOATS, 0)).lanewise(MUL, FloatVector.fromArray(FLOATS, x, c + 32));
                t = ((FloatVector) q.lanewise(LSHL, INT_18).lanewise(ASHR, INT_26).convertShape(I2F, FLOATS, 0)).lanewise(FMA, FloatVector.fromArray(FLOATS, x, c + 40), t);
                t = ((FloatVector) q.lanewise(LSHL, INT_10).lanewise(ASHR, INT_26).convertShape(I2F, FLOATS, 0)).lanewise(FMA, FloatVector.fromArray(FLOATS, x, c + 48), t);
                t = ((FloatVector) q.lanewise(LSHL, INT_2).lanewise(ASHR, INT_26).convertShape(I2F, FLOATS, 0)).lanewise(FMA, FloatVector.fromArray(FLOATS, x, c + 56), t);
                acc = t.lanewise(FMA, s, acc);
                // chunk 2: high nibbles of ql 0-31, qh bits 4-5
                s = FloatVector.broadcast(FLOATS, d * w.get(ValueLayout.JAVA_BYTE, sub + 4 + (l0 >> 2))).blend(FloatVector.broadcast(FLOATS, d * w.get(ValueLayout.JAVA_BYTE, sub + 5)), UPPER);
                q = ql0.lanewise(LSHR, INT_4).lanewise(AND, INT_0x0F0F0F0F).lanewise(OR, qh.lanewise(AND, INT_0x30303030)).lanewise(XOR, INT_0x20202020);
                t = ((FloatVector) q.lanewise(LSHL, INT_26).lanewise(ASHR, INT_26).convertShape(I2F, FLOATS, 0)).lanewise(MUL, FloatVector.fromArray(FLOATS, x, c + 64));
                t = ((FloatVector) q.lanewise(LSHL, INT_18).lanewise(ASHR, INT_26).convertShape(I2F, FLOATS, 0)).lanewise(FMA, FloatVector.fromArray(FLOATS, x, c + 72), t);
                t = ((FloatVector) q.lanewise(LSHL, INT_10).lanewise(ASHR, INT_26).convertShape(I2F, FLOATS, 0)).lanewise(FMA, FloatVector.fromArray(FLOATS, x, c + 80), t);
                t = ((FloatVector) q.lanewise(LSHL, INT_2).lanewise(ASHR, INT_26).convertShape(I2F, FLOATS, 0)).lanewise(FMA, FloatVector.fromArray(FLOATS, x, c + 88), t);
                acc = t.lanewise(FMA, s, acc);
                // chunk 3: high nibbles of ql 32-63, qh bits 6-7
                s = FloatVector.broadcast(FLOATS, d * w.get(ValueLayout.JAVA_BYTE, sub + 6 + (l0 >> 2))).blend(FloatVector.broadcast(FLOATS, d * w.get(ValueLayout.JAVA_BYTE, sub + 7)), UPPER);
                q = ql1.lanewise(LSHR, INT_4).lanewise(AND, INT_0x0F0F0F0F).lanewise(OR, qh.lanewise(LSHR, INT_2).lanewise(AND, INT_0x30303030)).lanewise(XOR, INT_0x20202020);
                t = ((FloatVector) q.lanewise(LSHL, INT_26).lanewise(ASHR, INT_26).convertShape(I2F, FLOATS, 0)).lanewise(MUL, FloatVector.fromArray(FLOATS, x, c + 96));
                t = ((FloatVector) q.lanewise(LSHL, INT_18).lanewise(ASHR, INT_26).convertShape(I2F, FLOATS, 0)).lanewise(FMA, FloatVector.fromArray(FLOATS, x, c + 104), t);
                t = ((FloatVector) q.lanewise(LSHL, INT_10).lanewise(ASHR, INT_26).convertShape(I2F, FLOATS, 0)).lanewise(FMA, FloatVector.fromArray(FLOATS, x, c + 112), t);
                t = ((FloatVector) q.lanewise(LSHL, INT_2).lanewise(ASHR, INT_26).convertShape(I2F, FLOATS, 0)).lanewise(FMA, FloatVector.fromArray(FLOATS, x, c + 120), t);
                acc = t.lanewise(FMA, s, acc);
            }
        }
        acc.intoArray(lanes, lo + l0);
    }

    /** A row at a time against the 4 tokens: each widened group feeds all 4 tokens. */
    @Override
    public void tile2x4(byte[] w, int p0, int p1, float[] x, int x0, int x1, int x2, int x3, int cols, float[] lanes) {
        for (int l0 = 0; l0 < 8; l0 += PASS) {
            row1x4(w, p0, x, x0, x1, x2, x3, cols, lanes, 0, l0);
            row1x4(w, p1, x, x0, x1, x2, x3, cols, lanes, 32, l0);
        }
    }

    private static void row1x4(byte[] w, int p, float[] x, int x0, int x1, int x2, int x3, int cols, float[] lanes, int lo, int l0) {
        int blocks = cols / BlockQ6_K.VALUES;
        FloatVector a0 = FloatVector.zero(FLOATS), a1 = a0, a2 = a0, a3 = a0;
        for (int b = 0; b < blocks; b++) {
            int blk = p + b * BYTES;
            float d = Float.float16ToFloat((short) I16_LE.get(w, blk + BlockQ6_K.D));
            for (int h = 0; h < 2; h++) {
                IntVector qh = (IntVector) ByteVector.fromArray(INT_BYTES, w, blk + BlockQ6_K.QH + 32 * h + 4 * l0).reinterpretShape(INTS, 0);
                for (int k = 0; k < 4; k++) {
                    int sub = blk + BlockQ6_K.SCALES + 8 * h + 2 * k, c = 256 * b + 128 * h + 32 * k + l0;
                    FloatVector s = FloatVector.broadcast(FLOATS, d * w[sub + (l0 >> 2)]).blend(FloatVector.broadcast(FLOATS, d * w[sub + 1]), UPPER);
                    IntVector ql = (IntVector) ByteVector.fromArray(INT_BYTES, w, blk + BlockQ6_K.QL + 64 * h + 32 * (k & 1) + 4 * l0).reinterpretShape(INTS, 0);
                    IntVector q = ((k >> 1) == 0 ? ql : ql.lanewise(LSHR, INT_4)).lanewise(AND, INT_0x0F0F0F0F)
                            .lanewise(OR, qh.lanewise(LSHR, 2 * k).lanewise(AND, INT_0x03030303).lanewise(LSHL, INT_4)).lanewise(XOR, INT_0x20202020);
                    FloatVector g = (FloatVector) q.lanewise(LSHL, INT_26).lanewise(ASHR, INT_26).convertShape(I2F, FLOATS, 0);
                    FloatVector t0 = g.lanewise(MUL, FloatVector.fromArray(FLOATS, x, x0 + c)), t1 = g.lanewise(MUL, FloatVector.fromArray(FLOATS, x, x1 + c));
                    FloatVector t2 = g.lanewise(MUL, FloatVector.fromArray(FLOATS, x, x2 + c)), t3 = g.lanewise(MUL, FloatVector.fromArray(FLOATS, x, x3 + c));
                    for (int j = 1; j < 4; j++) {
                        int cj = c + 8 * j;
                        g = (FloatVector) q.lanewise(LSHL, 26 - 8 * j).lanewise(ASHR, INT_26).convertShape(I2F, FLOATS, 0);
                        t0 = g.lanewise(FMA, FloatVector.fromArray(FLOATS, x, x0 + cj), t0);
                        t1 = g.lanewise(FMA, FloatVector.fromArray(FLOATS, x, x1 + cj), t1);
                        t2 = g.lanewise(FMA, FloatVector.fromArray(FLOATS, x, x2 + cj), t2);
                        t3 = g.lanewise(FMA, FloatVector.fromArray(FLOATS, x, x3 + cj), t3);
                    }
                    a0 = t0.lanewise(FMA, s, a0);
                    a1 = t1.lanewise(FMA, s, a1);
                    a2 = t2.lanewise(FMA, s, a2);
                    a3 = t3.lanewise(FMA, s, a3);
                }
            }
        }
        a0.intoArray(lanes, lo + l0);
        a1.intoArray(lanes, lo + 8 + l0);
        a2.intoArray(lanes, lo + 16 + l0);
        a3.intoArray(lanes, lo + 24 + l0);
    }
}
