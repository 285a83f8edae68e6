package dev.mixtral.bench;

import dev.mixtral.model.tensor.GgmlType;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;

/**
 * Weight matrices of random blocks (every quant value, ordinary scales), several copies of one matrix at
 * different addresses: cycling through copies that together exceed the last-level cache makes every
 * multiplication stream its weights from memory, as decode does.
 */
final class RandomWeights {
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private RandomWeights() {}

    /** At least 2 copies, and at least {@code minTotalBytes} in all. */
    static MemorySegment[] pool(GgmlType type, int rows, int cols, long minTotalBytes, Arena arena) {
        long bytes = type.bytesFor(cols) * rows;
        int copies = (int) Math.max(2, (minTotalBytes + bytes - 1) / bytes);
        MemorySegment all = arena.allocate(bytes * copies, 64);
        MemorySegment first = all.asSlice(0, bytes);
        fill(type, first, rows * (long) cols, new SplittableRandom(42));
        MemorySegment[] pool = new MemorySegment[copies];
        for (int i = 0; i < copies; i++) {
            pool[i] = all.asSlice(i * bytes, bytes);
            if (i > 0) MemorySegment.copy(first, 0, pool[i], 0, bytes);
        }
        return pool;
    }

    static void fill(GgmlType type, MemorySegment w, long values, SplittableRandom rnd) {
        switch (type) {
            case F32 -> {
                for (long i = 0; i < values; i++) w.set(F32, 4 * i, (float) (rnd.nextDouble() * 2 - 1));
            }
            case F16 -> {
                for (long i = 0; i < values; i++) w.set(I16, 2 * i, Float.floatToFloat16((float) (rnd.nextDouble() * 2 - 1)));
            }
            case BF16 -> {
                for (long i = 0; i < values; i++) w.set(I16, 2 * i, (short) (Float.floatToRawIntBits((float) (rnd.nextDouble() * 2 - 1)) >>> 16));
            }
            default -> {
                long n = w.byteSize();
                long i = 0;
                for (; i + 8 <= n; i += 8) w.set(ValueLayout.JAVA_LONG_UNALIGNED, i, rnd.nextLong());
                for (; i < n; i++) w.set(ValueLayout.JAVA_BYTE, i, (byte) rnd.nextInt());
                int[] scales = type.format().scaleOffsets();
                for (long b = 0; b < n / type.blockBytes; b++) {
                    for (int s : scales) {
                        w.set(I16, b * type.blockBytes + s, Float.floatToFloat16((float) (rnd.nextDouble() * 0.02 - 0.01)));
                    }
                }
            }
        }
    }

    static float[] activations(int n, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (rnd.nextDouble() * 2 - 1);
        return x;
    }
}
