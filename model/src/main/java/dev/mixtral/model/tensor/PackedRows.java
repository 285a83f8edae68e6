package dev.mixtral.model.tensor;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

/**
 * Activations as little-endian bytes in F32, BF16 or F16: how rows cross a process boundary (the
 * expert wire format). F32 round-trips exactly; BF16/F16 round to nearest even, as ggml does.
 */
public final class PackedRows {
    private PackedRows() {}

    public static int bytesPerElement(GgmlType type) {
        if (type.isQuantized()) {
            throw new IllegalArgumentException("activations are packed as F32, BF16 or F16, not " + type);
        }
        return type.blockBytes;
    }

    public static byte[] pack(float[] values, GgmlType type) {
        byte[] out = new byte[values.length * bytesPerElement(type)];
        type.encode(values, 0, values.length, MemorySegment.ofArray(out), 0);
        return out;
    }

    /** Reads {@code count} values from the remaining bytes of {@code bytes}, which must hold exactly that many. */
    public static float[] unpack(ByteBuffer bytes, GgmlType type, int count) {
        long expected = (long) count * bytesPerElement(type);
        if (bytes.remaining() != expected) {
            throw new IllegalArgumentException("expected " + expected + " bytes for " + count + " " + type
                    + " values, got " + bytes.remaining());
        }
        float[] values = new float[count];
        type.decode(MemorySegment.ofBuffer(bytes.slice()), 0, values, 0, count);
        return values;
    }
}
