package dev.mixtral.model.weights;

import java.util.Locale;

/**
 * Tensor names of a Mixtral GGUF as llama.cpp's converter writes them: {@code blk.N.*} per layer, the experts
 * of a layer stacked in one tensor per projection ({@code blk.N.ffn_gate_exps.weight}), or in older files one
 * tensor per expert ({@code blk.N.ffn_gate.E.weight}).
 */
public final class GgufTensorNames implements TensorNames {
    public static final GgufTensorNames NAMES = new GgufTensorNames();

    private GgufTensorNames() {}

    private static String layer(int layer, String name) {
        return "blk." + layer + "." + name + ".weight";
    }

    private static String ffn(ExpertProjection projection) {
        return "ffn_" + projection.name().toLowerCase(Locale.ROOT);
    }

    @Override public String embedding() { return "token_embd.weight"; }
    @Override public String attentionNorm(int layer) { return layer(layer, "attn_norm"); }
    @Override public String query(int layer) { return layer(layer, "attn_q"); }
    @Override public String key(int layer) { return layer(layer, "attn_k"); }
    @Override public String value(int layer) { return layer(layer, "attn_v"); }
    @Override public String attentionOutput(int layer) { return layer(layer, "attn_output"); }
    @Override public String ffnNorm(int layer) { return layer(layer, "ffn_norm"); }
    @Override public String router(int layer) { return layer(layer, "ffn_gate_inp"); }

    @Override
    public String expert(int layer, int expert, ExpertProjection projection) {
        return layer(layer, ffn(projection) + "." + expert);
    }

    /** All experts of a layer for one projection, stacked along the outermost dimension. */
    public String stackedExperts(int layer, ExpertProjection projection) {
        return layer(layer, ffn(projection) + "_exps");
    }

    @Override public String outputNorm() { return "output_norm.weight"; }
    @Override public String output() { return "output.weight"; }
}
