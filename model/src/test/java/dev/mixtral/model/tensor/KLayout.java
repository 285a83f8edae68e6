package dev.mixtral.model.tensor;

/**
 * The K-quant block layouts, written out independently of the codecs from ggml-common.h's documentation:
 * a packer that builds block bytes from chosen scales / mins / quants, and an unpacker of the per-sub-block
 * parameters that the round-trip tests measure errors against.
 */
final class KLayout {
    private KLayout() {}

    static int u16(byte[] b, int off) {
        return (b[off] & 0xFF) | (b[off + 1] & 0xFF) << 8;
    }

    static float f16(byte[] b, int off) {
        return Float.float16ToFloat((short) u16(b, off));
    }

    static void putF16(byte[] b, int off, short h) {
        b[off] = (byte) h;
        b[off + 1] = (byte) (h >> 8);
    }

    /**
     * Q4_K / Q5_K scales: the twelve bytes hold, for sub-blocks 0-3, the 6-bit scale in byte j and the 6-bit
     * min in byte j+4 (bits 0-5); for sub-blocks 4-7 the low 4 bits of scale and min are the two nibbles of
     * byte j+4 and their top 2 bits sit in bits 6-7 of bytes j-4 (scale) and j (min).
     */
    static void packScales12(int[] sc, int[] m, byte[] b, int off) {
        for (int j = 0; j < 8; j++) {
            if (j < 4) {
                b[off + j] |= (byte) sc[j];
                b[off + j + 4] |= (byte) m[j];
            } else {
                b[off + j + 4] |= (byte) ((sc[j] & 15) | (m[j] & 15) << 4);
                b[off + j - 4] |= (byte) ((sc[j] >> 4) << 6);
                b[off + j] |= (byte) ((m[j] >> 4) << 6);
            }
        }
    }

    static int[] unpackScales(byte[] b, int off) {
        int[] sc = new int[8];
        for (int j = 0; j < 8; j++) {
            sc[j] = j < 4 ? b[off + j] & 63 : (b[off + j + 4] & 15) | ((b[off + j - 4] & 0xFF) >> 6) << 4;
        }
        return sc;
    }

    static int[] unpackMins(byte[] b, int off) {
        int[] m = new int[8];
        for (int j = 0; j < 8; j++) {
            m[j] = j < 4 ? b[off + j + 4] & 63 : ((b[off + j + 4] & 0xFF) >> 4) | ((b[off + j] & 0xFF) >> 6) << 4;
        }
        return m;
    }

    /** A Q4_K block: value 32·j + i has quant q[32·j + i] (0..15) in sub-block j. */
    static byte[] buildQ4K(short d, short dmin, int[] sc, int[] m, int[] q) {
        byte[] b = new byte[144];
        putF16(b, 0, d);
        putF16(b, 2, dmin);
        packScales12(sc, m, b, 4);
        for (int v = 0; v < 256; v++) {
            int chunk = v / 64, within = v % 64;
            int byteIdx = 16 + 32 * chunk + within % 32;
            b[byteIdx] |= (byte) (within < 32 ? q[v] : q[v] << 4);
        }
        return b;
    }

    /** A Q5_K block: q in 0..31; the low 4 bits as Q4_K's nibbles, bit 4 in qh (byte v%32, bit v/32). */
    static byte[] buildQ5K(short d, short dmin, int[] sc, int[] m, int[] q) {
        byte[] b = new byte[176];
        putF16(b, 0, d);
        putF16(b, 2, dmin);
        packScales12(sc, m, b, 4);
        for (int v = 0; v < 256; v++) {
            int chunk = v / 64, within = v % 64;
            int byteIdx = 48 + 32 * chunk + within % 32;
            b[byteIdx] |= (byte) (within < 32 ? q[v] & 15 : (q[v] & 15) << 4);
            if ((q[v] & 16) != 0) b[16 + v % 32] |= (byte) (1 << (v / 32));
        }
        return b;
    }

    /**
     * A Q6_K block: q in 0..63 (value (q-32)·d·sc), sc int8 per 16 values. In each half of 128 values, value
     * v = 32·k + l (k = 0..3) keeps its low 4 bits in ql[64·half + l + 32·(k & 1)], low nibble for k < 2 and
     * high nibble for k ≥ 2, and its top 2 bits in qh[32·half + l] at bits 2k, 2k+1.
     */
    static byte[] buildQ6K(short d, int[] sc, int[] q) {
        byte[] b = new byte[210];
        for (int v = 0; v < 256; v++) {
            int half = v / 128, k = (v % 128) / 32, l = v % 32;
            int ql = 64 * half + l + 32 * (k & 1);
            b[ql] |= (byte) (k < 2 ? q[v] & 15 : (q[v] & 15) << 4);
            b[128 + 32 * half + l] |= (byte) ((q[v] >> 4) << (2 * k));
        }
        for (int j = 0; j < 16; j++) b[192 + j] = (byte) sc[j];
        putF16(b, 208, d);
        return b;
    }
}
