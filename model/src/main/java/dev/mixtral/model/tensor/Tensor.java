package dev.mixtral.model.tensor;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * A named tensor whose bytes are a view into a memory-mapped file. {@code shape} is in ggml order:
 * {@code shape[0]} is the fastest-varying dimension (the columns of a matrix).
 */
public record Tensor(String name, GgmlType type, long[] shape, MemorySegment data) {

    public long elements() {
        long n = 1;
        for (long d : shape) n *= d;
        return n;
    }

    @Override
    public String toString() {
        return name + " " + type + " " + Arrays.toString(shape);
    }
}
