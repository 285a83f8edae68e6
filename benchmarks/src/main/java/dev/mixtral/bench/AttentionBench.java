package dev.mixtral.bench;

import dev.mixtral.model.ModelConfig;
import dev.mixtral.model.forward.GroupAttention;
import dev.mixtral.model.forward.KvCache;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * One decode token's attention over one layer of Mixtral's shape (32 query heads, 8 KV heads, head dim 128)
 * at a given context length, on one thread: {@code grouped} reads each KV head's cache once for its 4 query
 * heads (what the forward pass does); {@code perHead}, the baseline in the same run, once per query head.
 *
 * <pre>  benchmarks/run jmh AttentionBench</pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx8g"})
public class AttentionBench {
    static final int HEADS = 32, KV_HEADS = 8, HEAD_DIM = 128;

    @Param({"1024", "16384"})
    int context;

    @Param({"F32", "F16"})
    String kv;

    KvCache cache;
    float[] q, att;
    float[][] scores = new float[0][0];

    @Setup
    public void fill() {
        ModelConfig c = new ModelConfig("bench", HEADS * HEAD_DIM, 1, HEADS, KV_HEADS, HEAD_DIM, 14336, 8, 2, 32000, 32768,
                1e6f, 1e-5f, ModelConfig.RopeLayout.ADJACENT_PAIRS);
        cache = new KvCache(c, KvCache.Type.valueOf(kv), context);
        cache.ensureCapacity(context);
        Random r = new Random(1);
        float[] k = new float[c.kvDim()], v = new float[c.kvDim()];
        for (int p = 0; p < context; p++) {
            for (int i = 0; i < k.length; i++) {
                k[i] = (float) r.nextGaussian();
                v[i] = (float) r.nextGaussian();
            }
            cache.store(0, p, k, 0, v, 0);
        }
        q = new float[c.qDim()];
        for (int i = 0; i < q.length; i++) q[i] = (float) r.nextGaussian();
        att = new float[c.qDim()];
    }

    @Benchmark
    public float[] grouped() {
        int group = HEADS / KV_HEADS;
        for (int g = 0; g < KV_HEADS; g++) {
            scores = GroupAttention.attend(cache, 0, context, g * HEAD_DIM, q, g * group * HEAD_DIM, group, HEAD_DIM, 0.088f, att, scores);
        }
        return att;
    }

    @Benchmark
    public float[] perHead() {
        int group = HEADS / KV_HEADS;
        for (int h = 0; h < HEADS; h++) {
            scores = GroupAttention.attend(cache, 0, context, (h / group) * HEAD_DIM, q, h * HEAD_DIM, 1, HEAD_DIM, 0.088f, att, scores);
        }
        return att;
    }
}
