package dev.mixtral.cli;

import dev.mixtral.coordinator.Coordinator;
import dev.mixtral.coordinator.FanOutStats;
import dev.mixtral.model.MixtralModel;
import dev.mixtral.model.ModelConfig;
import dev.mixtral.model.forward.Transformer;
import dev.mixtral.model.generate.LoopTiming;
import dev.mixtral.model.kernel.MatMul;
import dev.mixtral.model.kernel.MemoryBandwidth;
import dev.mixtral.model.kernel.Parallel;
import dev.mixtral.model.kernel.RowKernel;
import dev.mixtral.model.kernel.VectorWidth;
import dev.mixtral.model.weights.ModelFiles;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Measure prefill and decode speed, in process or through an N-node loopback cluster, against the memory-bandwidth roofline measured in the same run."})
final class BenchCommand implements Callable<Integer> {
    @Mixin ModelOptions model;

    @Option(names = "--nodes", defaultValue = "0", paramLabel = "N", description = "Expert nodes to start on loopback (0: experts in this process). Default: ${DEFAULT-VALUE}.")
    int nodes;
    @Option(names = "--node-threads", paramLabel = "T", description = "Compute threads of each expert node started here. Default: --threads.")
    Integer nodeThreads;
    @Option(names = "--batch", defaultValue = "1,4,16", split = ",", paramLabel = "B,…", description = "Decode batch sizes. Default: ${DEFAULT-VALUE}.")
    int[] batches;
    @Option(names = "--prompt-len", defaultValue = "64", paramLabel = "L", description = "Prefill prompt length. Default: ${DEFAULT-VALUE}.")
    int promptLen;
    /** Decode's default prompt per sequence: short, so attention costs little next to the weights. */
    static final int SHORT_CONTEXT = 8;
    @Option(names = "--decode-context", defaultValue = "" + SHORT_CONTEXT, paramLabel = "L", description = "Decode after a prompt of this many "
            + "tokens per sequence (prefilled untimed): attention then reads L cached positions per step. Default: ${DEFAULT-VALUE}.")
    int decodeContext;
    @Option(names = "--gen-len", defaultValue = "32", paramLabel = "G", description = "Decode steps per batch size. Default: ${DEFAULT-VALUE}.")
    int genLen;
    @Option(names = "--prefill-runs", defaultValue = "3", paramLabel = "R", description = "Timed prefills of the prompt, each into a "
            + "fresh cache: the median is reported (a single one varied ±20%% on the shared 2-core machines). Default: ${DEFAULT-VALUE}.")
    int prefillRuns;
    @Option(names = "--decode-runs", defaultValue = "3", paramLabel = "R", description = "Timed decodes of --gen-len steps per batch size, each "
            + "with fresh sequences: the median is reported. Default: ${DEFAULT-VALUE}.")
    int decodeRuns;
    @Option(names = "--warmup", defaultValue = "64", paramLabel = "STEPS", description = "Untimed decode steps per batch size first, so the JIT "
            + "has compiled the hot paths. Default: ${DEFAULT-VALUE}.")
    int warmupSteps;
    @Option(names = "--warmup-seconds", defaultValue = "2", paramLabel = "S", description = "Repeat the --warmup steps of each batch size until "
            + "this many seconds have passed: a small model's batch 1 ran ~2× slower for its first ~500 steps (the JIT). Default: ${DEFAULT-VALUE}.")
    double warmupSeconds;
    @Option(names = "--in-process-baseline", description = "With --nodes: also run the same benchmark with every expert in this "
            + "process (the whole model must fit), each timed run alternating with the cluster's, and report the cluster's tokens/s as "
            + "ratios to it: the median of the pairs' ratios and their spread.")
    boolean inProcessBaseline;
    @Option(names = "--llama-bench", paramLabel = "PATH", description = "Also run llama.cpp's llama-bench (this binary) on the same .gguf "
            + "file with the same threads, prompt length and decode steps (its KV cache: f16), right after the timed runs, and report our "
            + "prefill and batch-1 decode as ratios to it: on a shared machine a ratio to a neighbour measured minutes apart is steadier than tokens/s.")
    Path llamaBench;
    @Option(names = "--json", paramLabel = "OUT", description = "Also write the figures as JSON to this file.")
    Path jsonOut;

    @Override
    public Integer call() throws Exception {
        atLeastOne("--prompt-len", promptLen);
        atLeastOne("--gen-len", genLen);
        atLeastOne("--decode-context", decodeContext);
        atLeastOne("--prefill-runs", prefillRuns);
        atLeastOne("--decode-runs", decodeRuns);
        if (!(warmupSeconds >= 0)) throw new UserException("--warmup-seconds must be >= 0, got " + warmupSeconds);
        if (inProcessBaseline && nodes == 0) throw new UserException("--in-process-baseline compares a cluster with one process: give --nodes N");
        if (model.threads != null) Parallel.setThreads(model.threads);
        LocalCluster cluster = null;
        Path path = model.modelPath();
        List<String> seeds = model.seedList();
        if (llamaBench != null) LlamaCppBench.check(llamaBench, path); // before the long runs, not after them
        if (nodes > 0) {
            int experts;
            try (ModelFiles f = ModelFiles.open(path)) {
                experts = f.config().experts();
            }
            Integer threads = nodeThreads != null ? nodeThreads : model.threads;
            List<String> nodeArgs = threads != null ? List.of("--threads", threads.toString()) : List.of();
            // this run's own nodes, thrown away with it: killed at the end rather than each leaving the cluster in turn
            cluster = LocalCluster.start(path, experts, nodes, 1, "127.0.0.1", LocalCluster.freePort(), nodeArgs, line -> {}).killOnClose();
            seeds = List.of(cluster.seeds().split(","));
        }
        // with the baseline, both are open at once and their timed runs alternate, pair by pair: a ratio of
        // runs seconds apart is far steadier on a shared machine than one of two benchmarks minutes apart
        try (MixtralModel m = model.settings(path, seeds).open();
             MixtralModel baseline = nodes > 0 && inProcessBaseline ? MixtralModel.local(path) : null) {
            Map<String, Object> result = run(m, cluster, baseline);
            if (llamaBench != null) {
                System.err.println("[bench] running llama.cpp's llama-bench on the same file…");
                compare(result, LlamaCppBench.run(llamaBench, path, Parallel.threads(), promptLen, genLen));
            }
            print(result);
            if (jsonOut != null) Files.writeString(jsonOut, Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(result));
        } finally {
            if (cluster != null) cluster.close();
        }
        return 0;
    }

    /**
     * The memory read bandwidth with the compute threads, measured right before and right after the timed runs:
     * the machines here are shared, and their mean is what the roofline compares with.
     */
    private static double bandwidth(String when) {
        System.err.printf("[bench] measuring memory read bandwidth with %d threads (%s the timed runs)…%n", Parallel.threads(), when);
        return MemoryBandwidth.measure(1L << 30, 5);
    }

    /** Warm-up, timed runs and figures of {@code m}; with a {@code baseline} (in process), its runs alternate with m's. */
    private Map<String, Object> run(MixtralModel m, LocalCluster cluster, MixtralModel baseline) throws IOException {
        Transformer t = m.transformer();
        Transformer base = baseline == null ? null : baseline.transformer();
        ModelConfig c = m.config();
        int[] prompt = syntheticPrompt(promptLen, c.vocab(), 1);
        Map<String, Integer> warmup = warmUp(t);
        if (base != null) {
            System.err.println("[bench] in-process baseline: every expert in this process, its runs alternating with the cluster's…");
            warmUp(base);
        }

        double bandwidthBefore = bandwidth("before");
        List<Double> prefillRunsTps = new ArrayList<>(), basePrefillRunsTps = new ArrayList<>();
        for (int i = 0; i < prefillRuns; i++) {
            pair(i, () -> prefillRunsTps.add(prefill(t, prompt)), base == null ? null : () -> basePrefillRunsTps.add(prefill(base, prompt)));
        }
        double prefillTps = median(prefillRunsTps);

        FanOutStats stats = m.experts().unwrap(Coordinator.class).map(coordinator -> coordinator.experts().stats()).orElse(null);
        var fanOutBefore = stats == null ? null : stats.snapshot();
        Map<String, Double> decodeTps = new LinkedHashMap<>();
        Map<String, List<Double>> decodeRunsTps = new LinkedHashMap<>(), baseDecodeRunsTps = new LinkedHashMap<>();
        for (int b : batches) {
            decodeRunsTps.put(Integer.toString(b), new ArrayList<>());
            baseDecodeRunsTps.put(Integer.toString(b), new ArrayList<>());
        }
        // Each round runs every batch size, in turn forwards and backwards, so a batch size's run is compared
        // with batch 1's of the same round, seconds apart, rather than with runs minutes before or after.
        for (int i = 0; i < decodeRuns; i++) {
            for (int j = 0; j < batches.length; j++) {
                int b = batches[i % 2 == 0 ? j : batches.length - 1 - j];
                List<Double> runs = decodeRunsTps.get(Integer.toString(b)), baseRuns = baseDecodeRunsTps.get(Integer.toString(b));
                pair(i, () -> runs.add(decode(t, b, decodeContext, genLen)), base == null ? null : () -> baseRuns.add(decode(base, b, decodeContext, genLen)));
            }
        }
        decodeRunsTps.forEach((b, runs) -> decodeTps.put(b, median(runs)));
        long weightBytesPerToken = weightBytesPerToken(m.files());
        double tps1 = decodeTps.getOrDefault("1", Double.NaN);
        Map<String, Long> rss = new LinkedHashMap<>();
        rss.put("coordinator", rssOf(ProcessHandle.current().pid()));
        if (cluster != null) for (LocalCluster.Node n : cluster.nodes()) rss.put("node-" + n.index(), rssOf(n.pid()));
        double bandwidthAfter = bandwidth("after"); // after the RSS readings: it maps 1 GB of its own
        double bandwidth = (bandwidthBefore + bandwidthAfter) / 2;

        Map<String, Object> r = new LinkedHashMap<>();
        r.put("model", m.files().path().toString());
        r.put("config", c.describe());
        r.put("threads", Parallel.threads());
        r.put("preferred_vector_bits", MatMul.preferredVectorBits());
        r.put("kernel_vector_bits", VectorWidth.BITS);
        r.put("kernel_vector_bits_by_type", RowKernel.widthsByType());
        // the expert nodes serving this run: those started here, or those found at --seeds
        r.put("nodes", m.experts().unwrap(Coordinator.class).map(co -> co.routingTable().nodes().size()).orElse(0));
        r.put("prompt_len", promptLen);
        r.put("gen_len", genLen);
        r.put("decode_context", decodeContext);
        r.put("prefill_tokens_per_s", prefillTps);
        r.put("prefill_runs_tokens_per_s", prefillRunsTps);
        r.put("decode_tokens_per_s", decodeTps);
        r.put("decode_runs_tokens_per_s", decodeRunsTps);
        List<Double> batch1Runs = decodeRunsTps.get("1");
        if (batch1Runs != null) {
            Map<String, List<Double>> vsBatch1 = new LinkedHashMap<>();
            decodeRunsTps.forEach((b, runs) -> {
                if (!b.equals("1")) vsBatch1.put(b, ratios(runs, batch1Runs));
            });
            r.put("decode_vs_batch_1_rounds", vsBatch1);
        }
        r.put("warmup_steps", warmup);
        r.put("weight_bytes_per_token", weightBytesPerToken);
        r.put("bandwidth_bytes_per_s", bandwidth);
        r.put("bandwidth_before_after_bytes_per_s", List.of(bandwidthBefore, bandwidthAfter));
        r.put("roofline_tokens_per_s", bandwidth / weightBytesPerToken);
        r.put("roofline_fraction", tps1 * weightBytesPerToken / bandwidth);
        r.put("rss_bytes", rss);
        if (base != null) compare(r, prefillRunsTps, basePrefillRunsTps, decodeRunsTps, baseDecodeRunsTps);
        if (fanOutBefore != null) {
            var f = stats.snapshot().minus(fanOutBefore); // the timed decode phase (the baseline's runs make no calls)
            Map<String, Object> fanOut = new LinkedHashMap<>();
            fanOut.put("layer_calls", f.layerCalls());
            fanOut.put("wall_ms_per_layer_call", f.wallMsPerLayer());
            fanOut.put("overhead_ms_per_layer_call", f.overheadMsPerLayer());
            fanOut.put("bytes_sent", f.bytesSent());
            fanOut.put("bytes_received", f.bytesReceived());
            r.put("fan_out", fanOut);
        }
        return r;
    }

    /**
     * Untimed runs so the JIT has compiled the hot paths (kernels, and with nodes the gRPC path) before timing:
     * every batch size, since batch 1 and batches of 2+ run different kernels; a whole prompt of the timed
     * length, since a shorter one left the batch kernels' loops partly uncompiled when timing began.
     */
    private Map<String, Integer> warmUp(Transformer t) {
        prefill(t, syntheticPrompt(promptLen, t.config().vocab(), 2));
        Map<String, Integer> warmup = new LinkedHashMap<>();
        for (int b : batches) {
            if (b < 1) throw new UserException("--batch sizes must be >= 1");
            int steps = 0;
            long until = System.nanoTime() + (long) (warmupSeconds * 1e9);
            do {
                decode(t, b, SHORT_CONTEXT, warmupSteps);
                steps += warmupSteps;
            } while (System.nanoTime() < until);
            warmup.put(Integer.toString(b), steps);
        }
        return warmup;
    }

    /** Run {@code i} of {@code measured}, next to the same run of {@code baseline} if any: which goes first alternates (ABBA…), so drift cancels. */
    private static void pair(int i, Runnable measured, Runnable baseline) {
        if (baseline == null) {
            measured.run();
        } else if (i % 2 == 0) {
            baseline.run();
            measured.run();
        } else {
            measured.run();
            baseline.run();
        }
    }

    private static void atLeastOne(String option, int value) {
        if (value < 1) throw new UserException(option + " must be >= 1, got " + value);
    }

    /** The middle value (the mean of the middle two for an even count). */
    private static double median(List<Double> values) {
        List<Double> v = values.stream().sorted().toList();
        int n = v.size();
        return n % 2 == 1 ? v.get(n / 2) : (v.get(n / 2 - 1) + v.get(n / 2)) / 2;
    }

    private double prefill(Transformer t, int[] prompt) {
        return LoopTiming.prefillTokensPerSecond(t, model.kvType(), model.prefillChunk, prompt);
    }

    /** Decode tokens/s of {@code batch} sequences stepping together, each after a {@code context}-token prompt. */
    private double decode(Transformer t, int batch, int context, int steps) {
        List<int[]> prompts = new ArrayList<>();
        for (int b = 0; b < batch; b++) prompts.add(syntheticPrompt(context, t.config().vocab(), 10 + b));
        return LoopTiming.decodeTokensPerSecond(t, model.kvType(), model.prefillChunk, prompts, steps);
    }

    /**
     * Bytes of weights one decode step of one token reads: every dense matrix except the embedding
     * table (one row of it), norms, routers, the output head, and top-k of the experts of every layer.
     */
    static long weightBytesPerToken(ModelFiles files) {
        ModelConfig c = files.config();
        long dense = 0, experts = 0, embeddingRow = 0;
        for (ModelFiles.TensorEntry t : files.tensors()) {
            String n = t.name();
            boolean expert = n.contains("_exps") || n.contains(".experts.") || n.matches("blk\\.\\d+\\.ffn_(gate|up|down)\\.\\d+\\.weight");
            if (n.equals("token_embd.weight") || n.equals("model.embed_tokens.weight")) embeddingRow = t.bytes() / c.vocab();
            else if (expert) experts += t.bytes();
            else dense += t.bytes();
        }
        return dense + embeddingRow + experts * c.topK() / c.experts();
    }

    static long rssOf(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        } catch (IOException e) {
            // process gone or not Linux
        }
        return -1;
    }

    static int[] syntheticPrompt(int n, int vocab, int salt) {
        int[] p = new int[n];
        p[0] = 1;
        for (int i = 1; i < n; i++) p[i] = 3 + (int) ((i * 2654435761L + salt * 40503L) % (vocab - 3));
        return p;
    }

    /**
     * Adds the in-process figures and the cluster's ratios to them: per pair of alternating runs, and their
     * median (what is quoted) with the spread of the pairs.
     */
    private static void compare(Map<String, Object> r, List<Double> prefill, List<Double> basePrefill,
                                Map<String, List<Double>> decode, Map<String, List<Double>> baseDecode) {
        Map<String, Object> base = new LinkedHashMap<>();
        base.put("prefill_tokens_per_s", median(basePrefill));
        base.put("prefill_runs_tokens_per_s", basePrefill);
        Map<String, Double> baseDecodeTps = new LinkedHashMap<>();
        baseDecode.forEach((b, runs) -> baseDecodeTps.put(b, median(runs)));
        base.put("decode_tokens_per_s", baseDecodeTps);
        base.put("decode_runs_tokens_per_s", baseDecode);
        r.put("in_process", base);
        List<Double> prefillPairs = ratios(prefill, basePrefill);
        r.put("prefill_vs_in_process", median(prefillPairs));
        r.put("prefill_vs_in_process_pairs", prefillPairs);
        Map<String, Double> ratio = new LinkedHashMap<>();
        Map<String, List<Double>> pairs = new LinkedHashMap<>();
        decode.forEach((b, runs) -> {
            pairs.put(b, ratios(runs, baseDecode.get(b)));
            ratio.put(b, median(pairs.get(b)));
        });
        r.put("decode_vs_in_process", ratio);
        r.put("decode_vs_in_process_pairs", pairs);
    }

    /** {@code a[i] / b[i]}: each run to its baseline partner. */
    static List<Double> ratios(List<Double> a, List<Double> b) {
        List<Double> r = new ArrayList<>();
        for (int i = 0; i < a.size(); i++) r.add(a.get(i) / b.get(i));
        return r;
    }

    /** Adds llama.cpp's figures, measured now on the same file, and ours as ratios to them. */
    @SuppressWarnings("unchecked")
    private void compare(Map<String, Object> ours, LlamaCppBench llama) {
        double weightBytes = ((Long) ours.get("weight_bytes_per_token")).doubleValue();
        Map<String, Object> l = new LinkedHashMap<>();
        l.put("llama_bench", llamaBench.toString());
        l.put("build", llama.build());
        l.put("cpu", llama.cpu());
        l.put("kv_cache", llama.kvCache());
        l.put("prefill_tokens_per_s", llama.prefillTokensPerSecond());
        l.put("decode_tokens_per_s", Map.of("1", llama.decodeTokensPerSecond()));
        l.put("roofline_fraction", llama.decodeTokensPerSecond() * weightBytes / (Double) ours.get("bandwidth_bytes_per_s"));
        ours.put("llama_cpp", l);
        ours.put("prefill_vs_llama_cpp", (Double) ours.get("prefill_tokens_per_s") / llama.prefillTokensPerSecond());
        Double decode1 = ((Map<String, Double>) ours.get("decode_tokens_per_s")).get("1");
        if (decode1 != null) ours.put("decode_vs_llama_cpp", Map.of("1", decode1 / llama.decodeTokensPerSecond()));
    }

    /** "  [median of R runs, min–max]" for more than one run, else nothing. */
    private static String range(List<Double> runs) {
        return runs.size() < 2 ? "" : String.format("  [median of %d runs, %.1f–%.1f]", runs.size(), Collections.min(runs), Collections.max(runs));
    }

    /** "  [median of N pairs, min–max×]" for more than one pair. */
    private static String pairRange(List<Double> pairs) {
        return pairs.size() < 2 ? "" : String.format("  [median of %d pairs, %.2f–%.2f×]", pairs.size(), Collections.min(pairs), Collections.max(pairs));
    }

    @SuppressWarnings("unchecked")
    private static void print(Map<String, Object> r) {
        System.out.printf("model            %s%n", r.get("model"));
        System.out.printf("                 %s%n", r.get("config"));
        System.out.printf("threads %s, expert nodes %s, kernels at %s bits (%s-bit vectors preferred by this JVM)%n", r.get("threads"),
                r.get("nodes"), r.get("kernel_vector_bits"), r.get("preferred_vector_bits"));
        System.out.printf("kernels by type  %s%n", r.get("kernel_vector_bits_by_type"));
        List<Double> ba = (List<Double>) r.get("bandwidth_before_after_bytes_per_s");
        System.out.printf("memory bandwidth %.1f GB/s (measured now: %.1f before, %.1f after the timed runs)%n",
                (Double) r.get("bandwidth_bytes_per_s") / 1e9, ba.get(0) / 1e9, ba.get(1) / 1e9);
        System.out.printf("weights/token    %.1f MB  → roofline %.1f tokens/s%n", (Long) r.get("weight_bytes_per_token") / 1e6, (Double) r.get("roofline_tokens_per_s"));
        List<Double> runs = (List<Double>) r.get("prefill_runs_tokens_per_s");
        System.out.printf("prefill          %.1f tokens/s (%s-token prompt%s)%n", (Double) r.get("prefill_tokens_per_s"), r.get("prompt_len"),
                runs.size() == 1 ? "" : String.format("; median of %d runs, %.1f–%.1f", runs.size(),
                        Collections.min(runs), Collections.max(runs)));
        if (!Integer.valueOf(SHORT_CONTEXT).equals(r.get("decode_context"))) System.out.printf("decode context   %s tokens%n", r.get("decode_context"));
        Map<String, Double> d = (Map<String, Double>) r.get("decode_tokens_per_s");
        Map<String, List<Double>> decodeRuns = (Map<String, List<Double>>) r.get("decode_runs_tokens_per_s");
        Map<String, List<Double>> vsBatch1 = (Map<String, List<Double>>) r.getOrDefault("decode_vs_batch_1_rounds", Map.of());
        d.forEach((b, v) -> System.out.printf("decode batch %-3s %.1f tokens/s%s%s%n", b, v, vsBatch1.containsKey(b)
                ? String.format("  (%.1f× batch 1%s)", median(vsBatch1.get(b)), vsBatch1.get(b).size() < 2 ? ""
                        : String.format(", rounds %.1f–%.1f×", Collections.min(vsBatch1.get(b)), Collections.max(vsBatch1.get(b))))
                : "", range(decodeRuns.get(b))));
        System.out.printf("roofline fraction %.2f (batch 1)%n", (Double) r.get("roofline_fraction"));
        ((Map<String, Long>) r.get("rss_bytes")).forEach((p, b) -> System.out.printf("rss %-12s %.0f MB%n", p, b / 1e6));
        if (r.get("in_process") instanceof Map<?, ?> inProcess) {
            System.out.printf("in process (this run, alternating) prefill %.1f tokens/s → cluster %.2f×%s%n",
                    (Double) inProcess.get("prefill_tokens_per_s"), (Double) r.get("prefill_vs_in_process"), pairRange((List<Double>) r.get("prefill_vs_in_process_pairs")));
            Map<String, Double> ratio = (Map<String, Double>) r.get("decode_vs_in_process");
            Map<String, List<Double>> pairs = (Map<String, List<Double>>) r.get("decode_vs_in_process_pairs");
            ((Map<String, Double>) inProcess.get("decode_tokens_per_s")).forEach((b, v) ->
                    System.out.printf("in process (this run, alternating) decode batch %-3s %.1f tokens/s → cluster %.2f×%s%n", b, v, ratio.get(b), pairRange(pairs.get(b))));
        }
        if (r.get("llama_cpp") instanceof Map<?, ?> l) {
            System.out.printf("llama.cpp (this run, %s) prefill %.1f tokens/s → ours %.2f×%n", l.get("build"),
                    (Double) l.get("prefill_tokens_per_s"), (Double) r.get("prefill_vs_llama_cpp"));
            Double ratio = r.get("decode_vs_llama_cpp") instanceof Map<?, ?> dr ? (Double) dr.get("1") : null;
            System.out.printf("llama.cpp (this run) decode batch 1   %.1f tokens/s, roofline fraction %.2f%s%n",
                    (Double) ((Map<String, Double>) l.get("decode_tokens_per_s")).get("1"), (Double) l.get("roofline_fraction"),
                    ratio == null ? "" : String.format(" → ours %.2f×", ratio));
        }
        if (r.get("fan_out") instanceof Map<?, ?> f) {
            System.out.printf("fan-out (decode) %.2f ms per layer call, %.2f ms of it outside the nodes' compute%n",
                    (Double) f.get("wall_ms_per_layer_call"), (Double) f.get("overhead_ms_per_layer_call"));
        }
    }
}
