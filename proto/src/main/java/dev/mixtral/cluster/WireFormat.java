package dev.mixtral.cluster;

import dev.mixtral.model.tensor.GgmlType;
import dev.mixtral.proto.v1.DType;

import java.util.EnumMap;
import java.util.Map;

/**
 * The data half of the wire contract, as code both sides share: which element types activations may
 * travel in, their {@link DType} on the wire, and how large one message may be.
 */
public final class WireFormat {
    /** A prefill step sends every prompt token's rows in one call: far beyond gRPC's 4 MiB default. */
    public static final int MAX_MESSAGE_BYTES = 1 << 30;

    /** Activation types the wire carries and their DType: F32 is exact; BF16 and F16 halve the bytes, rounded. */
    private static final Map<GgmlType, DType> DTYPES = new EnumMap<>(Map.of(
            GgmlType.F32, DType.DTYPE_F32, GgmlType.BF16, DType.DTYPE_BF16, GgmlType.F16, DType.DTYPE_F16));

    private WireFormat() {}

    public static DType dtype(GgmlType type) {
        DType dtype = DTYPES.get(type);
        if (dtype == null) throw new IllegalArgumentException("activations travel as one of " + DTYPES.keySet() + ", not " + type);
        return dtype;
    }

    public static GgmlType type(DType dtype) {
        for (var e : DTYPES.entrySet()) if (e.getValue() == dtype) return e.getKey();
        throw new IllegalArgumentException("unknown dtype " + dtype);
    }

    /** The type called {@code name} (f32, bf16 or f16, any case). */
    public static GgmlType type(String name) {
        for (GgmlType t : DTYPES.keySet()) if (t.name().equalsIgnoreCase(name)) return t;
        throw new IllegalArgumentException("the wire type must be one of " + DTYPES.keySet() + ", got '" + name + "'");
    }
}
