package dev.mixtral.model.kernel;

import dev.mixtral.model.tensor.BlockQ4_K;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The eight 6-bit sub-block scales and mins of a Q4_K or Q5_K super-block (same 12 bytes in both, see
 * {@link BlockQ4_K}), unpacked with a few whole-int operations instead of per sub-block byte arithmetic:
 * byte {@code j} of the returned long is sub-block {@code j}'s value, so a pair of sub-blocks
 * {@code 2p, 2p+1} is {@code (int) (v >>> 16p)}, bits 0-7 and 8-15. {@code Dequantize}, the kernels' test
 * oracle, reads the same bytes its own way ({@code KQuants}) on purpose: the kernels are checked against an
 * independent reading of the layout.
 */
final class KScales {
    private KScales() {}

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
