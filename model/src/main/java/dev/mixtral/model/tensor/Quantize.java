package dev.mixtral.model.tensor;

import static dev.mixtral.model.tensor.ByteLayouts.FLOAT_LE;
import static dev.mixtral.model.tensor.ByteLayouts.SHORT_LE;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * Encodes f32 values into ggml's block formats (for writing model files).
 *
 * <ul>
 *   <li>F32 copies; F16 and BF16 round to nearest even.</li>
 *   <li>Q8_0 and Q4_0 give exactly the bytes of llama.cpp's reference quantizers
 *       ({@code quantize_row_q8_0_ref}, {@code quantize_row_q4_0_ref}), which is what {@code llama-quantize}
 *       writes without an importance matrix.</li>
 *   <li>Q4_K, Q5_K and Q6_K follow llama.cpp's {@code quantize_row_q*_K_ref} step by step (same fits, same
 *       float operation order).</li>
 * </ul>
 * The K-quant quantizers keep their working arrays per thread, so no call allocates.
 */
public final class Quantize {
    private Quantize() {}

    /**
     * Encodes {@code src[srcOff .. srcOff + n)} ({@code n} a multiple of {@code type.blockSize}) into
     * {@code type.bytesFor(n)} bytes at {@code dst[dstOffset ..)}.
     */
    public static void row(GgmlType type, float[] src, int srcOff, int n, MemorySegment dst, long dstOffset) {
        Objects.checkFromIndexSize(srcOff, n, src.length);
        if (n % type.blockSize != 0) {
            throw new IllegalArgumentException(
                    type + " stores blocks of " + type.blockSize + " values; " + n + " is not a multiple");
        }
        int blocks = n / type.blockSize;
        switch (type) {
            case F32 -> MemorySegment.copy(src, srcOff, dst, FLOAT_LE, dstOffset, n);
            case F16 -> {
                for (int i = 0; i < n; i++) dst.set(SHORT_LE, dstOffset + 2L * i, Float.floatToFloat16(src[srcOff + i]));
            }
            case BF16 -> {
                for (int i = 0; i < n; i++) dst.set(SHORT_LE, dstOffset + 2L * i, HalfFloats.f32ToBf16(src[srcOff + i]));
            }
            case Q8_0 -> {
                for (int b = 0; b < blocks; b++) {
                    BlockQ8_0.quantize(src, srcOff + b * BlockQ8_0.VALUES, dst, dstOffset + (long) b * BlockQ8_0.BYTES);
                }
            }
            case Q4_0 -> {
                for (int b = 0; b < blocks; b++) {
                    BlockQ4_0.quantize(src, srcOff + b * BlockQ4_0.VALUES, dst, dstOffset + (long) b * BlockQ4_0.BYTES);
                }
            }
            case Q4_K -> {
                for (int b = 0; b < blocks; b++) {
                    BlockQ4_K.quantize(src, srcOff + b * BlockQ4_K.VALUES, dst, dstOffset + (long) b * BlockQ4_K.BYTES);
                }
            }
            case Q5_K -> {
                for (int b = 0; b < blocks; b++) {
                    BlockQ5_K.quantize(src, srcOff + b * BlockQ5_K.VALUES, dst, dstOffset + (long) b * BlockQ5_K.BYTES);
                }
            }
            case Q6_K -> {
                for (int b = 0; b < blocks; b++) {
                    BlockQ6_K.quantize(src, srcOff + b * BlockQ6_K.VALUES, dst, dstOffset + (long) b * BlockQ6_K.BYTES);
                }
            }
        }
    }
}
