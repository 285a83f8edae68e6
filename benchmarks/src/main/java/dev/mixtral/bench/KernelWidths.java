package dev.mixtral.bench;

import dev.mixtral.model.kernel.MatMul;
import dev.mixtral.model.kernel.Parallel;
import dev.mixtral.model.kernel.RowKernel;
import dev.mixtral.model.kernel.VectorWidth;
import dev.mixtral.model.tensor.GgmlType;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.util.SplittableRandom;

/**
 * The kernels alone at this JVM's {@link VectorWidth}, for A/B runs of whole JVMs at different widths
 * ({@code -Dmixtral.vectorBits}, see docs/vector-width.md): per weight type, a 1024 × 1024 matrix (in cache) times
 * 2, 1 and 16 tokens on one thread (2 first: its single tokens read the block copy through the same kernel body that batch
 * 1 then reads from the mapped segment, as in a server), best of many calls, in ns per row·token, then the bytes a call allocates (0 when C2
 * keeps every vector in registers; a vector it boxes shows here, see docs/vector-width.md; run with {@code -Xbatch}
 * for counts that repeat from run to run). Each line ends with a hash of the outputs' bits, which must be the same at
 * every width. Arguments: the types (comma-separated, default all).
 */
public final class KernelWidths {
    private static final int ROWS = 1024, COLS = 1024;

    private KernelWidths() {}

    public static void main(String[] args) {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        Parallel.setThreads(1); // on this thread, whose allocations the bean counts
        String types = args.length > 0 ? args[0] : "F32,F16,BF16,Q8_0,Q4_0,Q4_K,Q5_K,Q6_K";
        try (Arena arena = Arena.ofConfined()) {
            for (String name : types.split(",")) {
                GgmlType t = GgmlType.byName(name);
                MemorySegment w = arena.allocate(t.bytesFor(COLS) * ROWS, 64);
                RandomWeights.fill(t, w, (long) ROWS * COLS, new SplittableRandom(42));
                StringBuilder line = new StringBuilder(String.format("%-5s kernels at %d bits:", name, RowKernel.of(t).vectorBits()));
                long hash = 17;
                for (int batch : new int[] {2, 1, 16}) {
                    float[] x = RandomWeights.activations(batch * COLS, 7), out = new float[batch * ROWS];
                    long best = Long.MAX_VALUE;
                    for (int i = 0, calls = batch <= 2 ? 3000 : 400; i < calls; i++) {
                        long start = System.nanoTime();
                        MatMul.multiply(t, w, ROWS, COLS, x, batch, out);
                        best = Math.min(best, System.nanoTime() - start);
                    }
                    long allocated = threads.getCurrentThreadAllocatedBytes();
                    for (int i = 0; i < 20; i++) MatMul.multiply(t, w, ROWS, COLS, x, batch, out);
                    allocated = (threads.getCurrentThreadAllocatedBytes() - allocated) / 20;
                    for (float f : out) hash = 31 * hash + Float.floatToRawIntBits(f);
                    line.append(String.format("  batch %d %6.1f ns %7d B/call", batch, best / (double) ROWS / batch, allocated));
                }
                System.out.println(line.append(String.format("  (outputs %016x)", hash)));
            }
        }
    }
}
