package dev.mixtral.cluster;

import dev.mixtral.model.tensor.GgmlType;
import dev.mixtral.proto.v1.DType;

import java.util.List;
import java.util.Locale;

/**
 * The data half of the wire contract, as code both sides share: which element types activations may
 * travel in, their {@link DType} on the wire, and how large one message may be.
 */
public final class WireFormat {
    /** A prefill step sends every prompt token's rows in one call: far beyond gRPC's 4 MiB default. */
    public static final int MAX_MESSAGE_BYTES = 1 << 30;

    /** Activation types the wire carries, by their user-facing names (f32 is exact; bf16/f16 halve the bytes, rounded). */
    public static final List<String> TYPE_NAMES = List.of("f32", "bf16", "f16");

    private WireFormat() {}

    public static DType dtype(GgmlType type) {
        return switch (type) {
            case F32 -> DType.DTYPE_F32;
            case BF16 -> DType.DTYPE_BF16;
            case F16 -> DType.DTYPE_F16;
            default -> throw new IllegalArgumentException("activations travel as F32, BF16 or F16, not " + type);
        };
    }

    public static GgmlType type(DType dtype) {
        return switch (dtype) {
            case DTYPE_F32 -> GgmlType.F32;
            case DTYPE_BF16 -> GgmlType.BF16;
            case DTYPE_F16 -> GgmlType.F16;
            default -> throw new IllegalArgumentException("unknown dtype " + dtype);
        };
    }

    /** The type called {@code name} (one of {@link #TYPE_NAMES}, any case). */
    public static GgmlType type(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "f32" -> GgmlType.F32;
            case "bf16" -> GgmlType.BF16;
            case "f16" -> GgmlType.F16;
            default -> throw new IllegalArgumentException("the wire type must be one of " + String.join(", ", TYPE_NAMES) + ", got '" + name + "'");
        };
    }
}
