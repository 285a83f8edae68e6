package dev.mixtral.cli;

import dev.mixtral.model.safetensors.SafetensorsWriter;
import dev.mixtral.model.synth.RouterSkew;
import dev.mixtral.model.synth.SynthSpec;
import dev.mixtral.model.synth.SyntheticModel;
import dev.mixtral.model.tensor.GgmlType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "synth", mixinStandardHelpOptions = true,
        description = "Write a deterministic random-weight Mixtral model in a real format (GGUF or Hugging Face safetensors).")
final class SynthCommand implements Callable<Integer> {
    @Option(names = "--preset", defaultValue = "tiny", paramLabel = "NAME",
            description = "tiny, small, medium, mixtral-layers, mixtral-8x7b. Default: ${DEFAULT-VALUE}.") String preset;
    @Option(names = "--format", defaultValue = "gguf", paramLabel = "gguf|safetensors") String format;
    @Option(names = "--type", defaultValue = "f32", paramLabel = "TYPE",
            description = "f32, f16, bf16, q8_0, q4_0, q4_k (GGUF); f32, f16, bf16 (safetensors). Default: ${DEFAULT-VALUE}.") String type;
    @Option(names = "--seed", defaultValue = "1", paramLabel = "N") long seed;
    @Option(names = "--out", required = true, paramLabel = "PATH", description = "The .gguf file, or the checkpoint directory for safetensors.") Path out;
    @Option(names = "--split-experts", description = "GGUF: one tensor per expert (the older layout) instead of stacked.") boolean splitExperts;

    @Option(names = "--hot-experts", paramLabel = "RANGES",
            description = {"GGUF: make these experts hot (e.g. 0,1): their router rows in every layer are multiplied by --hot-scale,",
                    "so each wins the top-k for about half the tokens. For load-balancing experiments; an ordinary model file."})
    String hotExperts;
    @Option(names = "--hot-scale", defaultValue = "8", paramLabel = "S",
            description = "Factor of the hot experts' router rows, a power of two (exact in every type). Default: ${DEFAULT-VALUE}.") int hotScale;

    @Option(names = "--dim") Integer dim;
    @Option(names = "--layers") Integer layers;
    @Option(names = "--heads") Integer heads;
    @Option(names = "--kv-heads") Integer kvHeads;
    @Option(names = "--hidden", description = "Expert feed-forward width.") Integer hidden;
    @Option(names = "--experts") Integer experts;
    @Option(names = "--top-k") Integer topK;
    @Option(names = "--vocab") Integer vocab;
    @Option(names = "--context") Integer context;

    @Override
    public Integer call() {
        SynthSpec p = SynthSpec.preset(preset);
        SynthSpec spec = new SynthSpec(or(dim, p.dim()), or(layers, p.layers()), or(heads, p.heads()), or(kvHeads, p.kvHeads()),
                or(hidden, p.hidden()), or(experts, p.experts()), or(topK, p.topK()), or(vocab, p.vocab()),
                or(context, p.context()), p.ropeTheta(), p.rmsEps());
        GgmlType t = GgmlType.byName(type);
        RouterSkew skew;
        try {
            skew = hotExperts == null || hotExperts.isBlank() ? RouterSkew.NONE
                    : new RouterSkew(dev.mixtral.node.ExpertRanges.parse(hotExperts), hotScale);
            if (!skew.equals(RouterSkew.NONE)) new dev.mixtral.model.synth.SynthWeights(spec, seed, skew); // checks the experts exist
        } catch (IllegalArgumentException e) {
            throw new UserException("--hot-experts: " + e.getMessage());
        }
        long start = System.nanoTime();
        int threads = Runtime.getRuntime().availableProcessors();
        try (ProgressDisplay progress = ProgressDisplay.open("synth " + out.getFileName())) {
            switch (format.toLowerCase()) {
                case "gguf" -> SyntheticModel.writeGguf(spec, t, seed, skew, out, splitExperts, threads, progress);
                case "safetensors", "hf" -> {
                    if (!skew.equals(RouterSkew.NONE)) throw new UserException("--hot-experts is for GGUF files (--format gguf)");
                    if (t != GgmlType.F32 && t != GgmlType.F16 && t != GgmlType.BF16) {
                        throw new UserException("safetensors checkpoints hold f32, f16 or bf16, not " + type);
                    }
                    SyntheticModel.writeHuggingFace(spec, t, seed, out, threads, SafetensorsWriter.DEFAULT_SHARD_BYTES, progress);
                }
                default -> throw new UserException("--format must be gguf or safetensors, got '" + format + "'");
            }
        }
        System.err.printf("wrote %s (%s, %s, seed %d, %,d parameters) in %.1fs%n", out, spec.label(), t, seed,
                spec.parameters(), (System.nanoTime() - start) / 1e9);
        return 0;
    }

    private static int or(Integer v, int fallback) {
        return v != null ? v : fallback;
    }
}
