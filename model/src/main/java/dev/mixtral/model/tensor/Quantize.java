package dev.mixtral.model.tensor;

import java.lang.foreign.MemorySegment;

/** Encodes f32 values into ggml's block formats (for writing model files). */
public final class Quantize {
    private Quantize() {}

    /**
     * Encodes {@code src[srcOff .. srcOff + n)} ({@code n} a multiple of {@code type.blockSize}) into
     * {@code type.bytesFor(n)} bytes at {@code dst[dstOffset ..)}.
     */
    public static void row(GgmlType type, float[] src, int srcOff, int n, MemorySegment dst, long dstOffset) {
        throw new UnsupportedOperationException("TODO " + type);
    }
}
