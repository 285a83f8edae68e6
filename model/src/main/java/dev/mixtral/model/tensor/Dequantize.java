package dev.mixtral.model.tensor;

import static dev.mixtral.model.tensor.ByteLayouts.FLOAT_LE;
import static dev.mixtral.model.tensor.ByteLayouts.SHORT_LE;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * Decodes stored tensor bytes to f32, per ggml's block formats. This is the scalar reference: the exact
 * value of every weight, used by the forward pass and as the oracle for vector kernels.
 *
 * <p>Every format computes what ggml's {@code dequantize_row_*} computes, with the same float operations in
 * the same order (and no fused multiply-add), so the results are bit-identical to ggml's reference C code.
 * Nothing is allocated per call.
 */
public final class Dequantize {
    private Dequantize() {}

    /**
     * Decodes {@code n} values (a multiple of {@code type.blockSize}) stored at byte {@code offset} of
     * {@code src} into {@code dst[dstOff .. dstOff + n)}.
     */
    public static void row(GgmlType type, MemorySegment src, long offset, float[] dst, int dstOff, int n) {
        Objects.checkFromIndexSize(dstOff, n, dst.length);
        if (n % type.blockSize != 0) {
            throw new IllegalArgumentException(
                    type + " stores blocks of " + type.blockSize + " values; " + n + " is not a multiple");
        }
        int blocks = n / type.blockSize;
        switch (type) {
            case F32 -> MemorySegment.copy(src, FLOAT_LE, offset, dst, dstOff, n);
            case F16 -> {
                for (int i = 0; i < n; i++) dst[dstOff + i] = Float.float16ToFloat(src.get(SHORT_LE, offset + 2L * i));
            }
            case BF16 -> {
                for (int i = 0; i < n; i++) dst[dstOff + i] = HalfFloats.bf16ToF32(src.get(SHORT_LE, offset + 2L * i));
            }
            case Q8_0 -> {
                for (int b = 0; b < blocks; b++) {
                    BlockQ8_0.dequantize(src, offset + (long) b * BlockQ8_0.BYTES, dst, dstOff + b * BlockQ8_0.VALUES);
                }
            }
            case Q4_0 -> {
                for (int b = 0; b < blocks; b++) {
                    BlockQ4_0.dequantize(src, offset + (long) b * BlockQ4_0.BYTES, dst, dstOff + b * BlockQ4_0.VALUES);
                }
            }
            case Q4_K -> {
                for (int b = 0; b < blocks; b++) {
                    BlockQ4_K.dequantize(src, offset + (long) b * BlockQ4_K.BYTES, dst, dstOff + b * BlockQ4_K.VALUES);
                }
            }
            case Q5_K -> {
                for (int b = 0; b < blocks; b++) {
                    BlockQ5_K.dequantize(src, offset + (long) b * BlockQ5_K.BYTES, dst, dstOff + b * BlockQ5_K.VALUES);
                }
            }
            case Q6_K -> {
                for (int b = 0; b < blocks; b++) {
                    BlockQ6_K.dequantize(src, offset + (long) b * BlockQ6_K.BYTES, dst, dstOff + b * BlockQ6_K.VALUES);
                }
            }
        }
    }
}
