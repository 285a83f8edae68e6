package dev.mixtral.bench;

import dev.mixtral.model.kernel.Parallel;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorSpecies;
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
import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The roofline: a plain streaming read (256-bit integer adds, 4 accumulators) of a segment larger than the
 * caches, split over the same pool as the kernels. {@link KernelReport} divides bytes by time.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx4g"})
public class MemoryBandwidthBench {
    /** 256-bit loads of ints (32 bytes each, as the loop's offsets assume). */
    private static final VectorSpecies<Integer> INTS = IntVector.SPECIES_256;

    @Param({"2"})
    public int threads;
    @Param({"2000000000"})
    public long bytes;

    private Arena arena;
    private MemorySegment data;
    private final AtomicInteger sink = new AtomicInteger();

    @Setup(Level.Trial)
    public void setUp() {
        Parallel.setThreads(threads);
        arena = Arena.ofShared();
        data = arena.allocate(bytes & ~4095L, 4096);
        data.fill((byte) 1);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    /** Chunks of 1 MB, a few per thread so that a slow thread does not hold the others up. */
    @Benchmark
    public int read() {
        int chunks = (int) (data.byteSize() >>> 20);
        Parallel.forRange(chunks, 1, (from, to) -> sink.addAndGet(sum(data, (long) from << 20, (long) to << 20)));
        return sink.get();
    }

    static int sum(MemorySegment s, long from, long to) {
        IntVector a0 = IntVector.zero(INTS), a1 = a0, a2 = a0, a3 = a0;
        for (long i = from; i < to; i += 128) {
            a0 = a0.add(IntVector.fromMemorySegment(INTS, s, i, ByteOrder.LITTLE_ENDIAN));
            a1 = a1.add(IntVector.fromMemorySegment(INTS, s, i + 32, ByteOrder.LITTLE_ENDIAN));
            a2 = a2.add(IntVector.fromMemorySegment(INTS, s, i + 64, ByteOrder.LITTLE_ENDIAN));
            a3 = a3.add(IntVector.fromMemorySegment(INTS, s, i + 96, ByteOrder.LITTLE_ENDIAN));
        }
        return a0.add(a1).add(a2).add(a3).reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
    }
}
