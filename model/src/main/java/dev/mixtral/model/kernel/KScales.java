package dev.mixtral.model.kernel;

import dev.mixtral.model.tensor.BlockQ4_K;

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
        int u0 = i32(w, blk), u2 = i32(w, blk + 8);
        int low = u0 & 0x3F3F3F3F;                                     // j < 4: bits 0-5 of byte j
        int high = u2 & 0x0F0F0F0F | (u0 >>> 2) & 0x30303030;          // j >= 4: low nibble of byte j+4, top bits of byte j-4
        return low & 0xFFFFFFFFL | (long) high << 32;
    }

    /** Sub-block mins {@code m[0..7]}, one per byte. */
    static long mins(byte[] w, int blk) {
        int u1 = i32(w, blk + 4), u2 = i32(w, blk + 8);
        int low = u1 & 0x3F3F3F3F;                                     // j < 4: bits 0-5 of byte j+4
        int high = (u2 >>> 4) & 0x0F0F0F0F | (u1 >>> 2) & 0x30303030;  // j >= 4: high nibble of byte j+4, top bits of byte j
        return low & 0xFFFFFFFFL | (long) high << 32;
    }

    private static int i32(byte[] w, int off) {
        return (int) RowKernel.I32_LE.get(w, off + BlockQ4_K.SCALES);
    }
}
