package dev.mixtral.bench;

import dev.mixtral.model.kernel.MatMul;
import dev.mixtral.model.kernel.Parallel;
import dev.mixtral.model.tensor.GgmlType;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;

/**
 * One {@code rows × cols} matrix times {@code batch} tokens, by the fused kernels ({@code impl = kernel}) or the
 * scalar decode-then-dot path they replaced ({@code reference}). Each call takes the next copy of the matrix
 * from a pool larger than the caches, so weights stream from memory. {@link KernelReport} turns the times
 * into GB/s and GFLOP/s.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx4g"})
public class MatMulBench {
    @Param({"Q8_0"})
    public String type;
    @Param({"1"})
    public int batch;
    @Param({"kernel"})
    public String impl;
    @Param({"14336"})
    public int rows;
    @Param({"4096"})
    public int cols;
    @Param({"2"})
    public int threads;
    /** Bytes of matrix copies to cycle through (the L3 here may be hundreds of MB). */
    @Param({"2000000000"})
    public long poolBytes;

    private Arena arena;
    private MemorySegment[] pool;
    private GgmlType t;
    private float[] x, out;
    private int next;

    @Setup(Level.Trial)
    public void setUp() {
        Parallel.setThreads(threads);
        t = GgmlType.byName(type);
        arena = Arena.ofShared();
        pool = RandomWeights.pool(t, rows, cols, poolBytes, arena);
        x = RandomWeights.activations(batch * cols, 1);
        out = new float[batch * rows];
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public float multiply() {
        MemorySegment w = pool[next];
        next = next + 1 == pool.length ? 0 : next + 1;
        if (impl.equals("reference")) {
            MatMul.multiplyReference(t, w, rows, cols, x, batch, out);
        } else {
            MatMul.multiply(t, w, rows, cols, x, batch, out);
        }
        return out[out.length - 1];
    }
}
