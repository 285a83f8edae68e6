package dev.mixtral.model.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Measures this machine's memory read bandwidth now, with the compute pool's threads: a streaming
 * vector read over a buffer far larger than the caches. Benchmarks compare against it in the same
 * run, since shared machines are noisy.
 */
public final class MemoryBandwidth {
    private MemoryBandwidth() {}

    /** Best of {@code rounds} full reads of a {@code bytes}-sized buffer, in bytes per second. */
    public static double measure(long bytes, int rounds) {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment buf = arena.allocate(bytes, 64);
            for (long i = 0; i < bytes; i += 4096) buf.set(ValueLayout.JAVA_BYTE, i, (byte) 1); // fault every page in
            int chunks = Parallel.threads() * 8;
            long chunkBytes = bytes / chunks / 64 * 64;
            double best = 0;
            float[] sink = new float[chunks];
            for (int r = 0; r < rounds; r++) {
                long t0 = System.nanoTime();
                Parallel.forRange(chunks, 1, (from, to) -> {
                    for (int c = from; c < to; c++) sink[c] = sum(buf, c * chunkBytes, chunkBytes);
                });
                double seconds = (System.nanoTime() - t0) / 1e9;
                best = Math.max(best, chunkBytes * chunks / seconds);
            }
            if (Float.isNaN(sink[0])) throw new AssertionError(); // keeps the reads alive
            return best;
        }
    }

    private static float sum(MemorySegment s, long off, long len) {
        VectorSpecies<Float> f = RowKernel.FLOATS;
        int v = f.vectorByteSize();
        FloatVector a = FloatVector.zero(f), b = a, c = a, d = a;
        for (long i = off; i + 4 * v <= off + len; i += 4 * v) {
            a = a.add(FloatVector.fromMemorySegment(f, s, i, ByteOrder.LITTLE_ENDIAN));
            b = b.add(FloatVector.fromMemorySegment(f, s, i + v, ByteOrder.LITTLE_ENDIAN));
            c = c.add(FloatVector.fromMemorySegment(f, s, i + 2 * v, ByteOrder.LITTLE_ENDIAN));
            d = d.add(FloatVector.fromMemorySegment(f, s, i + 3 * v, ByteOrder.LITTLE_ENDIAN));
        }
        return a.add(b).add(c.add(d)).lane(0); // a sink for the reads, not a result
    }
}
