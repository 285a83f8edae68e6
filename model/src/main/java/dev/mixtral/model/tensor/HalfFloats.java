package dev.mixtral.model.tensor;

import static dev.mixtral.model.tensor.ByteLayouts.SHORT_LE;

import java.lang.foreign.MemorySegment;

/**
 * fp16 / bf16 conversions as ggml does them.
 *
 * <ul>
 *   <li>fp16 → f32 is exact; f32 → fp16 rounds to nearest even (what F16C's {@code vcvtps2ph} with
 *       rounding mode 0 and ggml's portable fallback both do).</li>
 *   <li>bf16 → f32 is {@code bits << 16}; f32 → bf16 rounds to nearest even, and a NaN becomes a quiet NaN
 *       with the top 16 bits of its payload ({@code ggml_compute_fp32_to_bf16}).</li>
 * </ul>
 */
public final class HalfFloats {
    private HalfFloats() {}

    public static float f16ToF32(short bits) {
        return Float.float16ToFloat(bits);
    }

    public static short f32ToF16(float value) {
        return Float.floatToFloat16(value);
    }

    public static float bf16ToF32(short bits) {
        return Float.intBitsToFloat(bits << 16);
    }

    public static short f32ToBf16(float value) {
        int u = Float.floatToRawIntBits(value);
        if ((u & 0x7fffffff) > 0x7f800000) { // NaN: keep sign and high payload, force quiet
            return (short) ((u >>> 16) | 64);
        }
        // round to nearest, ties to even; a carry out of the mantissa correctly bumps the exponent (to inf at the top)
        return (short) ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16);
    }

    /** The fp16 value at byte {@code offset} of {@code seg}, as f32. */
    public static float readF16(MemorySegment seg, long offset) {
        return Float.float16ToFloat(seg.get(SHORT_LE, offset));
    }

    /** Rounds {@code value} to fp16 (nearest even) and stores it at byte {@code offset} of {@code seg}. */
    public static void writeF16(MemorySegment seg, long offset, float value) {
        seg.set(SHORT_LE, offset, Float.floatToFloat16(value));
    }

    /** {@code value} rounded to fp16 and back: the scale a block actually stores. */
    public static float roundToF16(float value) {
        return Float.float16ToFloat(Float.floatToFloat16(value));
    }
}
