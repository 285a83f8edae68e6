package dev.mixtral.model.tensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Activations as little-endian bytes in F32, BF16 or F16: how rows cross a process boundary (the
 * expert wire format). F32 round-trips exactly; BF16/F16 round to nearest even, as ggml does.
 */
public final class PackedRows {
    private PackedRows() {}

    public static int bytesPerElement(GgmlType type) {
        return switch (type) {
            case F32 -> 4;
            case F16, BF16 -> 2;
            default -> throw new IllegalArgumentException("activations are packed as F32, BF16 or F16, not " + type);
        };
    }

    public static byte[] pack(float[] values, GgmlType type) {
        ByteBuffer out = ByteBuffer.allocate(values.length * bytesPerElement(type)).order(ByteOrder.LITTLE_ENDIAN);
        switch (type) {
            case F32 -> out.asFloatBuffer().put(values);
            case BF16 -> { for (float v : values) out.putShort(HalfFloats.f32ToBf16(v)); }
            case F16 -> { for (float v : values) out.putShort(HalfFloats.f32ToF16(v)); }
            default -> throw new AssertionError(type);
        }
        return out.array();
    }

    /** Reads {@code count} values from the remaining bytes of {@code bytes}, which must hold exactly that many. */
    public static float[] unpack(ByteBuffer bytes, GgmlType type, int count) {
        long expected = (long) count * bytesPerElement(type);
        if (bytes.remaining() != expected) {
            throw new IllegalArgumentException("expected " + expected + " bytes for " + count + " " + type
                    + " values, got " + bytes.remaining());
        }
        ByteBuffer in = bytes.slice().order(ByteOrder.LITTLE_ENDIAN);
        float[] values = new float[count];
        switch (type) {
            case F32 -> in.asFloatBuffer().get(values);
            case BF16 -> { for (int i = 0; i < count; i++) values[i] = HalfFloats.bf16ToF32(in.getShort()); }
            case F16 -> { for (int i = 0; i < count; i++) values[i] = HalfFloats.f16ToF32(in.getShort()); }
            default -> throw new AssertionError(type);
        }
        return values;
    }
}
