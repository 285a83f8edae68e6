package dev.mixtral.model.tensor;

import java.lang.foreign.MemorySegment;

/**
 * Decodes stored tensor bytes to f32, per ggml's block formats. This is the scalar reference: the exact
 * value of every weight, used by the forward pass and as the oracle for vector kernels.
 */
public final class Dequantize {
    private Dequantize() {}

    /**
     * Decodes {@code n} values (a multiple of {@code type.blockSize}) stored at byte {@code offset} of
     * {@code src} into {@code dst[dstOff .. dstOff + n)}.
     */
    public static void row(GgmlType type, MemorySegment src, long offset, float[] dst, int dstOff, int n) {
        throw new UnsupportedOperationException("TODO " + type);
    }
}
