package dev.mixtral.bench;

import dev.mixtral.model.tensor.GgmlType;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs {@link MemoryBandwidthBench} and {@link MatMulBench} in one go and prints, per kernel, GB/s of weights
 * streamed, GFLOP/s, tokens/s and the share of the streaming-read bandwidth measured in the same run.
 *
 * <pre>
 *   benchmarks/run report [--types Q8_0,Q4_0] [--batches 1,4,16] [--impl kernel,reference] [--threads 2]
 *                         [--rows 14336] [--cols 4096] [--avx2] [--quick]
 * </pre>
 * {@code --avx2} runs the forks with {@code -XX:UseAVX=2}, as on a machine without AVX-512.
 */
public final class KernelReport {
    private KernelReport() {}

    public static void main(String[] args) throws RunnerException {
        Map<String, String> o = new LinkedHashMap<>(Map.of(
                "types", "F32,F16,BF16,Q8_0,Q4_0,Q4_K,Q5_K,Q6_K", "batches", "1,4,16", "impl", "kernel",
                "threads", "2", "rows", "14336", "cols", "4096"));
        boolean avx2 = false, quick = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--avx2" -> avx2 = true;
                case "--quick" -> quick = true;
                default -> {
                    if (!args[i].startsWith("--") || i + 1 >= args.length || !o.containsKey(args[i].substring(2))) {
                        throw new IllegalArgumentException("unknown option " + args[i] + "; known: " + o.keySet() + ", --avx2, --quick");
                    }
                    o.put(args[i].substring(2), args[++i]);
                }
            }
        }
        List<String> jvm = new ArrayList<>(List.of("--add-modules", "jdk.incubator.vector", "-Xmx4g"));
        if (avx2) jvm.add("-XX:UseAVX=2");
        // the project's tuning switches (-Dmixtral.…) reach the forked benchmark JVM: A/B runs of one build
        System.getProperties().stringPropertyNames().stream().filter(k -> k.startsWith("mixtral."))
                .forEach(k -> jvm.add("-D" + k + "=" + System.getProperty(k)));
        ChainedOptionsBuilder b = new OptionsBuilder()
                .include(MemoryBandwidthBench.class.getSimpleName())
                .include(MatMulBench.class.getSimpleName())
                .param("threads", o.get("threads"))
                .param("type", o.get("types").split(","))
                .param("batch", o.get("batches").split(","))
                .param("impl", o.get("impl").split(","))
                .param("rows", o.get("rows"))
                .param("cols", o.get("cols"))
                .jvmArgs(jvm.toArray(String[]::new))
                .shouldFailOnError(true);
        if (quick) {
            b.warmupIterations(2).warmupTime(TimeValue.milliseconds(500)).measurementIterations(3).measurementTime(TimeValue.milliseconds(500));
        }
        Collection<RunResult> results = new Runner(b.build()).run();

        double bandwidth = Double.NaN;
        for (RunResult r : results) {
            if (r.getParams().getBenchmark().endsWith("read")) {
                long bytes = Long.parseLong(r.getParams().getParam("bytes")) & ~4095L;
                bandwidth = bytes / (r.getPrimaryResult().getScore() * 1e-6) / 1e9;
            }
        }
        System.out.printf("%nstreaming read, %s threads%s: %.1f GB/s%n%n", o.get("threads"), avx2 ? " (AVX2 only)" : "", bandwidth);
        System.out.println("| type | impl | batch | µs/call | GB/s weights | % of read bw | GFLOP/s | tokens/s (this matrix) |");
        System.out.println("|---|---|---:|---:|---:|---:|---:|---:|");
        for (RunResult r : results) {
            var p = r.getParams();
            if (!p.getBenchmark().endsWith("multiply")) continue;
            GgmlType type = GgmlType.byName(p.getParam("type"));
            int rows = Integer.parseInt(p.getParam("rows")), cols = Integer.parseInt(p.getParam("cols"));
            int batch = Integer.parseInt(p.getParam("batch"));
            double us = r.getPrimaryResult().getScore();
            double gbs = type.bytesFor(cols) * rows / (us * 1e-6) / 1e9;
            double gflops = 2.0 * rows * cols * batch / (us * 1e-6) / 1e9;
            System.out.printf("| %s | %s | %d | %.0f | %.1f | %.0f%% | %.1f | %.0f |%n", type, p.getParam("impl"), batch, us,
                    gbs, 100 * gbs / bandwidth, gflops, batch / (us * 1e-6));
        }
        System.out.println();
        System.out.println("shape " + o.get("rows") + "×" + o.get("cols") + ", args " + Arrays.toString(args));
    }
}
