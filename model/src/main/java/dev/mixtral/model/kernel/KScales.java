package dev.mixtral.model.kernel;

import dev.mixtral.model.tensor.BlockQ4_K;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The eight 6-bit sub-block scales and mins of a Q4_K or Q5_K super-block (same 12 bytes in both, see
 * {@link BlockQ4_K}), unpacked with a few whole-int operations instead of per sub-block byte arithmetic:
 * byte {@code j} of the returned long is sub-block {@code j}'s value, so a pair of sub-blocks
 * {@code 2p, 2p+1} is {@code (int) (v >>> 16p)}, bits 0-7 and 8-15. {@code GgmlType.decode}, the kernels' test
 * oracle, reads the same bytes its own way ({@code KQuants}) on purpose: the kernels are checked against an
 * independent reading of the layout.
 */
final class KScales {
    private KScales() {}

    /**
     * The sub-block of each lane of {@link #unpack}'s scales and mins (and of the block sums the kernels read, see
     * {@link RowKernel#blockSumOrder}). Sub-block {@code j}'s lane is {@code 2·(j & 3) + (j >> 2)}: for {@code j = 2p},
     * {@code 4·(p & 1) + (p >> 1)}, and 2 more for {@code 2p + 1} (the kernels spell this out: a call in their
     * loops is not inlined in the larger bodies, see {@link RowKernel}).
     */
    static final int[] SUB_BLOCK_LANES = {0, 4, 1, 5, 2, 6, 3, 7};
    private static final int[] BYTE_SHIFTS = {0, 0, 8, 8, 16, 16, 24, 24};

    /** Where {@link #unpack} puts the 8 {@code −dmin·m}, after the 8 {@code d·sc} at {@link RowKernel#SCALES}. */
    static final int MINS = RowKernel.SCALES + 8;

    /**
     * Writes the super-block's sub-block scales {@code d·sc} to {@code lanes[SCALES ..)} and its {@code −dmin·m} to
     * {@code lanes[MINS ..)} (exact products), in {@link #SUB_BLOCK_LANES} order. A method of its own, called once
     * per super-block: whether C2 inlines it into a kernel body or not, no vector crosses the call.
     */
    static void unpack(byte[] w, int blk, float[] lanes) {
        float d = RowKernel.f16(w, blk + BlockQ4_K.D), dmin = RowKernel.f16(w, blk + BlockQ4_K.DMIN);
        spread(scales(w, blk), d, lanes, RowKernel.SCALES);
        spread(mins(w, blk), -dmin, lanes, MINS);
    }

    /** The same from the mapped segment. */
    static void unpack(MemorySegment w, long blk, float[] lanes) {
        float d = RowKernel.f16(w, blk + BlockQ4_K.D), dmin = RowKernel.f16(w, blk + BlockQ4_K.DMIN);
        spread(scales(w, blk), d, lanes, RowKernel.SCALES);
        spread(mins(w, blk), -dmin, lanes, MINS);
    }

    /**
     * {@code s · byte j of v} for the 8 bytes, in {@link #SUB_BLOCK_LANES} order: the long's ints alternate across
     * the lanes, so a pass of 4 lanes sees the same ints as 8 lanes do.
     */
    private static void spread(long v, float s, float[] lanes, int off) {
        for (int l0 = 0; l0 < 8; l0 += RowKernel.PASS) {
            ((FloatVector) ((IntVector) LongVector.broadcast(RowKernel.LONGS, v).reinterpretShape(RowKernel.INTS, 0))
                    .lanewise(VectorOperators.LSHR, IntVector.fromArray(RowKernel.INTS, BYTE_SHIFTS, l0)).lanewise(RowKernel.AND, RowKernel.INT_0xFF)
                    .convertShape(VectorOperators.I2F, RowKernel.FLOATS, 0)).lanewise(RowKernel.MUL, FloatVector.broadcast(RowKernel.FLOATS, s)).intoArray(lanes, off + l0);
        }
    }

    /** Sub-block scales {@code sc[0..7]}, one per byte. */
    static long scales(byte[] w, int blk) {
        return scales(i32(w, blk), i32(w, blk + 8));
    }

    /** Sub-block mins {@code m[0..7]}, one per byte. */
    static long mins(byte[] w, int blk) {
        return mins(i32(w, blk + 4), i32(w, blk + 8));
    }

    /** The same from the mapped segment. */
    static long scales(MemorySegment w, long blk) {
        return scales(i32(w, blk), i32(w, blk + 8));
    }

    /** The same from the mapped segment. */
    static long mins(MemorySegment w, long blk) {
        return mins(i32(w, blk + 4), i32(w, blk + 8));
    }

    /** Scales from the scale bytes' little-endian ints 0 and 2. */
    private static long scales(int u0, int u2) {
        int low = u0 & 0x3F3F3F3F;                                     // j < 4: bits 0-5 of byte j
        int high = u2 & 0x0F0F0F0F | (u0 >>> 2) & 0x30303030;          // j >= 4: low nibble of byte j+4, top bits of byte j-4
        return low & 0xFFFFFFFFL | (long) high << 32;
    }

    /** Mins from the scale bytes' little-endian ints 1 and 2. */
    private static long mins(int u1, int u2) {
        int low = u1 & 0x3F3F3F3F;                                     // j < 4: bits 0-5 of byte j+4
        int high = (u2 >>> 4) & 0x0F0F0F0F | (u1 >>> 2) & 0x30303030;  // j >= 4: high nibble of byte j+4, top bits of byte j
        return low & 0xFFFFFFFFL | (long) high << 32;
    }

    private static int i32(byte[] w, int off) {
        return (int) RowKernel.I32_LE.get(w, off + BlockQ4_K.SCALES);
    }

    private static final ValueLayout.OfInt SEG_I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private static int i32(MemorySegment w, long off) {
        return w.get(SEG_I32, off + BlockQ4_K.SCALES);
    }
}
