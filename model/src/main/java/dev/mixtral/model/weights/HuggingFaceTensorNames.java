package dev.mixtral.model.weights;

/** Tensor names of a Hugging Face {@code MixtralForCausalLM} checkpoint. */
public final class HuggingFaceTensorNames implements TensorNames {
    public static final HuggingFaceTensorNames NAMES = new HuggingFaceTensorNames();

    private HuggingFaceTensorNames() {}

    private static String layer(int layer, String name) {
        return "model.layers." + layer + "." + name + ".weight";
    }

    @Override public String embedding() { return "model.embed_tokens.weight"; }
    @Override public String attentionNorm(int layer) { return layer(layer, "input_layernorm"); }
    @Override public String query(int layer) { return layer(layer, "self_attn.q_proj"); }
    @Override public String key(int layer) { return layer(layer, "self_attn.k_proj"); }
    @Override public String value(int layer) { return layer(layer, "self_attn.v_proj"); }
    @Override public String attentionOutput(int layer) { return layer(layer, "self_attn.o_proj"); }
    @Override public String ffnNorm(int layer) { return layer(layer, "post_attention_layernorm"); }
    @Override public String router(int layer) { return layer(layer, "block_sparse_moe.gate"); }

    @Override
    public String expert(int layer, int expert, ExpertProjection projection) {
        String w = switch (projection) {
            case GATE -> "w1";
            case DOWN -> "w2";
            case UP -> "w3";
        };
        return layer(layer, "block_sparse_moe.experts." + expert + "." + w);
    }

    @Override public String outputNorm() { return "model.norm.weight"; }
    @Override public String output() { return "lm_head.weight"; }
}
