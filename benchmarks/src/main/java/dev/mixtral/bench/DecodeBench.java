package dev.mixtral.bench;

import dev.mixtral.model.forward.KvCache;
import dev.mixtral.model.forward.LocalExperts;
import dev.mixtral.model.forward.Transformer;
import dev.mixtral.model.generate.LoopTiming;
import dev.mixtral.model.kernel.Parallel;
import dev.mixtral.model.synth.SynthSpec;
import dev.mixtral.model.synth.SyntheticModel;
import dev.mixtral.model.tensor.GgmlType;
import dev.mixtral.model.weights.ModelFiles;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * End-to-end tokens/s of the forward pass on a synthetic model (default: the true Mixtral layer shape with
 * 2 layers, written once to a file and then memory-mapped): prefill of a prompt in one step, then greedy
 * decode steps of one token per sequence, both through the generation loop that serves requests.
 *
 * <pre>
 *   benchmarks/run decode [--type Q8_0] [--preset mixtral-layers] [--file /tmp/....gguf] [--prompt 64]
 *                         [--steps 24] [--batch 1] [--threads 2]
 *   DECODE_JVM_ARGS=-Dmixtral.matmul=reference benchmarks/run decode ...   (the scalar decode-then-dot path)
 * </pre>
 * {@code --batch n} decodes n sequences per step (batched decode).
 */
public final class DecodeBench {
    private DecodeBench() {}

    public static void main(String[] args) throws Exception {
        String type = "Q8_0", preset = "mixtral-layers", file = null;
        int prompt = 64, steps = 24, batch = 1, threads = 2;
        for (int i = 0; i < args.length; i += 2) {
            String v = args[i + 1];
            switch (args[i]) {
                case "--type" -> type = v;
                case "--preset" -> preset = v;
                case "--file" -> file = v;
                case "--prompt" -> prompt = Integer.parseInt(v);
                case "--steps" -> steps = Integer.parseInt(v);
                case "--batch" -> batch = Integer.parseInt(v);
                case "--threads" -> threads = Integer.parseInt(v);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        Parallel.setThreads(threads);
        GgmlType t = GgmlType.byName(type);
        Path path = Path.of(file != null ? file : System.getProperty("java.io.tmpdir") + "/mixtral-synth-" + preset + "-" + type + ".gguf");
        if (!Files.exists(path)) {
            System.out.println("writing " + path + " ...");
            SyntheticModel.writeGguf(SynthSpec.preset(preset), t, 1, path, false);
        }
        ModelFiles files = ModelFiles.open(path);
        Transformer tf = new Transformer(files.config(), files.loadDense(), LocalExperts.loadAll(files));
        String matmul = System.getProperty("mixtral.matmul", "kernels");
        System.out.printf("%s %s, %d threads, matmul=%s%n", preset, type, threads, matmul);

        int[] promptIds = new int[prompt];
        for (int i = 0; i < prompt; i++) promptIds[i] = 1 + (i * 7919) % 31000;
        // prefill: one sequence, the whole prompt in one step (twice: the first warms the JIT up)
        double prefillTps = 0;
        for (int rep = 0; rep < 2; rep++) prefillTps = LoopTiming.prefillTokensPerSecond(tf, KvCache.Type.F32, prompt, promptIds);
        System.out.printf("prefill %d tokens: %.1f tokens/s%n", prompt, prefillTps);

        List<int[]> prompts = new ArrayList<>();
        for (int b = 0; b < batch; b++) prompts.add(new int[]{1, 1 + b * 31 % 31000});
        int warm = Math.min(4, steps / 2);
        if (warm > 0) LoopTiming.decodeTokensPerSecond(tf, KvCache.Type.F32, prompt, prompts, warm);
        double tps = LoopTiming.decodeTokensPerSecond(tf, KvCache.Type.F32, prompt, prompts, steps);
        System.out.printf("decode, batch %d: %.2f steps/s = %.1f tokens/s (%d steps after %d warm-up)%n",
                batch, tps / batch, tps, steps, warm);
    }
}
