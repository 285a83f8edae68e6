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
 * The bytes each warmed kernel call allocates, per weight type and batch, all types in one JVM (as a model mixing
 * types runs them): 0 where C2 keeps every vector in registers; more where it could not prove a vector's class and
 * boxes it, which is what makes a kernel 1.2-3× slower (docs/vector-width.md). Run with {@code -Xbatch}: a call that
 * triggers a compilation then waits for it, so the figures depend on call counts, not on the machine's load, and
 * repeat from run to run. Arguments: the types (comma-separated, in the order to run them; default all).
 */
public final class KernelAllocations {
    private static final int ROWS = 256, COLS = 1024, WARM_CALLS = 3000, MEASURED_CALLS = 100;
    private static final int[] BATCHES = {1, 2, 5, 16};

    private KernelAllocations() {}

    public static void main(String[] args) {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        if (!ManagementFactory.getRuntimeMXBean().getInputArguments().contains("-Xbatch")) {
            System.out.println("(without -Xbatch the figures depend on when background compilations finish)");
        }
        Parallel.setThreads(1); // on this thread, whose allocations the bean counts
        String types = args.length > 0 ? args[0] : "F32,F16,BF16,Q8_0,Q4_0,Q4_K,Q5_K,Q6_K";
        System.out.println("kernels at " + VectorWidth.BITS + " bits (" + VectorWidth.origin() + ")");
        try (Arena arena = Arena.ofConfined()) {
            for (String name : types.split(",")) {
                GgmlType t = GgmlType.byName(name);
                MemorySegment w = arena.allocate(t.bytesFor(COLS) * ROWS, 64);
                RandomWeights.fill(t, w, (long) ROWS * COLS, new SplittableRandom(42));
                StringBuilder line = new StringBuilder(String.format("%-5s %d bits, bytes per call:", name, RowKernel.of(t).vectorBits()));
                for (int batch : BATCHES) {
                    float[] x = RandomWeights.activations(batch * COLS, 7), out = new float[batch * ROWS];
                    for (int i = 0; i < WARM_CALLS; i++) MatMul.multiply(t, w, ROWS, COLS, x, batch, out);
                    long before = threads.getCurrentThreadAllocatedBytes();
                    for (int i = 0; i < MEASURED_CALLS; i++) MatMul.multiply(t, w, ROWS, COLS, x, batch, out);
                    line.append(String.format("  batch %d %8d", batch, (threads.getCurrentThreadAllocatedBytes() - before) / MEASURED_CALLS));
                }
                System.out.println(line);
            }
        }
    }
}
