package dev.mixtral.model.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Encodes f32 rows into a tensor's stored form, for the file writers: F32, F16 and BF16 are converted
 * here (bulk copies, round-to-nearest-even like ggml and PyTorch); block-quantized types go to
 * {@link Quantize#row}. Thread-safe: no shared state.
 */
public final class RowEncoder {
    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private RowEncoder() {}

    /**
     * Writes {@code src[srcOff .. srcOff + n)} as {@code type} ({@code type.bytesFor(n)} bytes) at byte
     * {@code dstOffset} of {@code dst}.
     */
    public static void encode(GgmlType type, float[] src, int srcOff, int n, MemorySegment dst, long dstOffset) {
        switch (type) {
            case F32 -> MemorySegment.copy(src, srcOff, dst, F32_LE, dstOffset, n);
            case F16 -> {
                short[] h = new short[n];
                for (int i = 0; i < n; i++) h[i] = Float.floatToFloat16(src[srcOff + i]);
                MemorySegment.copy(h, 0, dst, I16_LE, dstOffset, n);
            }
            case BF16 -> {
                short[] h = new short[n];
                for (int i = 0; i < n; i++) h[i] = toBf16(src[srcOff + i]);
                MemorySegment.copy(h, 0, dst, I16_LE, dstOffset, n);
            }
            default -> Quantize.row(type, src, srcOff, n, dst, dstOffset);
        }
    }

    /** f32 → bf16 bits, round to nearest even (ggml's {@code ggml_compute_fp32_to_bf16}); NaN stays NaN. */
    public static short toBf16(float f) {
        int u = Float.floatToRawIntBits(f);
        if ((u & 0x7fffffff) > 0x7f800000) return (short) ((u >>> 16) | 64);
        return (short) ((u + (0x7fff + ((u >>> 16) & 1))) >>> 16);
    }

    /** bf16 bits → f32 (exact). */
    public static float fromBf16(short h) {
        return Float.intBitsToFloat((h & 0xffff) << 16);
    }
}
