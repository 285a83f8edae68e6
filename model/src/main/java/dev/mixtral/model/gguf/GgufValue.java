package dev.mixtral.model.gguf;

import java.util.Arrays;

/**
 * One metadata value with the type it is stored as (the type matters: llama.cpp refuses a file whose
 * counts are not u32, for example). Scalars are boxed Java values ({@code Long} for every integer
 * type, {@code Float}, {@code Double}, {@code Boolean}, {@code String}); arrays are primitive Java arrays
 * ({@code long[]} for integers, {@code float[]}, {@code double[]}, {@code boolean[]}, {@code String[]},
 * or {@code GgufValue[]} for arrays of arrays), with {@code elementType} naming the stored element type.
 */
public record GgufValue(GgufValueType type, GgufValueType elementType, Object value) {

    public static GgufValue of(GgufValueType type, Object value) {
        return new GgufValue(type, null, value);
    }

    public static GgufValue array(GgufValueType elementType, Object values) {
        return new GgufValue(GgufValueType.ARRAY, elementType, values);
    }

    public static GgufValue u32(long v) { return of(GgufValueType.UINT32, v); }
    public static GgufValue f32(float v) { return of(GgufValueType.FLOAT32, v); }
    public static GgufValue string(String v) { return of(GgufValueType.STRING, v); }
    public static GgufValue bool(boolean v) { return of(GgufValueType.BOOL, v); }

    public int arrayLength() {
        return switch (value) {
            case long[] a -> a.length;
            case float[] a -> a.length;
            case double[] a -> a.length;
            case boolean[] a -> a.length;
            case String[] a -> a.length;
            case GgufValue[] a -> a.length;
            default -> throw new IllegalStateException("not an array: " + type);
        };
    }

    /** A short human-readable rendering (long arrays abbreviated), for {@code inspect}. */
    public String display() {
        if (type != GgufValueType.ARRAY) {
            return type == GgufValueType.STRING ? abbreviate((String) value) : String.valueOf(value);
        }
        int n = arrayLength();
        String head = switch (value) {
            case long[] a -> Arrays.toString(Arrays.copyOf(a, Math.min(5, n)));
            case float[] a -> Arrays.toString(Arrays.copyOf(a, Math.min(5, n)));
            case String[] a -> Arrays.toString(Arrays.copyOf(a, Math.min(5, n)));
            default -> "[…]";
        };
        return elementType + "[" + n + "] " + (n > 5 ? head.substring(0, head.length() - 1) + ", …]" : head);
    }

    private static String abbreviate(String s) {
        String oneLine = s.replace("\n", "\\n");
        return oneLine.length() > 120 ? oneLine.substring(0, 117) + "…" : oneLine;
    }
}
