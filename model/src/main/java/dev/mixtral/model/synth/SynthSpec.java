package dev.mixtral.model.synth;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The hyper-parameters of a synthetic Mixtral model. {@code hidden} is the expert FFN width; the
 * vocabulary is the real 32000-token Llama/Mistral one in every preset.
 *
 * <p>Presets: {@code tiny} (the golden tiny model's shape), {@code small}, {@code medium},
 * {@code mixtral-layers} (the true Mixtral 8x7B layer shape with 2 layers) and {@code mixtral-8x7b}
 * (all 32 layers).
 */
public record SynthSpec(int dim, int layers, int heads, int kvHeads, int hidden, int experts, int topK,
                        int vocab, int context, double ropeTheta, double rmsEps) {

    public static final int VOCAB = 32000;

    private static final Map<String, SynthSpec> PRESETS = new LinkedHashMap<>();

    static {
        PRESETS.put("tiny", new SynthSpec(64, 2, 4, 2, 128, 8, 2, VOCAB, 2048, 1e6, 1e-5));
        PRESETS.put("small", new SynthSpec(256, 4, 8, 4, 512, 8, 2, VOCAB, 4096, 1e6, 1e-5));
        PRESETS.put("medium", new SynthSpec(1024, 4, 16, 8, 3584, 8, 2, VOCAB, 4096, 1e6, 1e-5));
        PRESETS.put("mixtral-layers", new SynthSpec(4096, 2, 32, 8, 14336, 8, 2, VOCAB, 32768, 1e6, 1e-5));
        PRESETS.put("mixtral-8x7b", new SynthSpec(4096, 32, 32, 8, 14336, 8, 2, VOCAB, 32768, 1e6, 1e-5));
    }

    public SynthSpec {
        if (dim < 1 || layers < 1 || heads < 1 || kvHeads < 1 || hidden < 1 || experts < 1 || topK < 1
                || vocab < 1 || context < 1) {
            throw new IllegalArgumentException("every size must be positive: " + this);
        }
        if (dim % heads != 0) throw new IllegalArgumentException("dim " + dim + " is not a multiple of heads " + heads);
        if (heads % kvHeads != 0) {
            throw new IllegalArgumentException("heads " + heads + " is not a multiple of kvHeads " + kvHeads);
        }
        if ((dim / heads) % 2 != 0) throw new IllegalArgumentException("head dim " + dim / heads + " must be even (RoPE pairs)");
        if (topK > experts) throw new IllegalArgumentException("topK " + topK + " > experts " + experts);
        if (!(ropeTheta > 0) || !(rmsEps > 0)) throw new IllegalArgumentException("ropeTheta and rmsEps must be positive");
    }

    /** The preset called {@code name} ({@link #presetNames()}). */
    public static SynthSpec preset(String name) {
        SynthSpec s = PRESETS.get(name);
        if (s == null) {
            throw new IllegalArgumentException("unknown synthetic model preset '" + name + "' (known: "
                    + String.join(", ", PRESETS.keySet()) + ")");
        }
        return s;
    }

    public static Set<String> presetNames() {
        return PRESETS.keySet();
    }

    public int headDim() {
        return dim / heads;
    }

    public int kvDim() {
        return kvHeads * headDim();
    }

    public SynthSpec withLayers(int n) {
        return new SynthSpec(dim, n, heads, kvHeads, hidden, experts, topK, vocab, context, ropeTheta, rmsEps);
    }

    /** The preset name when this spec is one, else a short description of its shape. */
    public String label() {
        for (var e : PRESETS.entrySet()) if (e.getValue().equals(this)) return e.getKey();
        return "d" + dim + "-l" + layers + "-h" + heads + "-kv" + kvHeads + "-f" + hidden + "-e" + experts;
    }

    /** Parameters (elements) of the whole model. */
    public long parameters() {
        long attn = (long) dim * dim * 2 + 2L * dim * kvDim();
        long moe = 3L * experts * dim * hidden + (long) experts * dim;
        return 2L * vocab * dim + dim + layers * (attn + moe + 2L * dim);
    }
}
