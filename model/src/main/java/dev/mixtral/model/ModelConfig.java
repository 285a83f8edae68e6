package dev.mixtral.model;

/**
 * The hyper-parameters of a Mixtral-architecture model, read from a GGUF file or a Hugging Face
 * config.json. {@code hidden} is the width of one expert's feed-forward layer.
 */
public record ModelConfig(String name, int dim, int layers, int heads, int kvHeads, int headDim, int hidden,
                          int experts, int topK, int vocab, int context, float ropeTheta, float rmsEps,
                          RopeLayout ropeLayout) {

    /**
     * Which components of a head's query/key RoPE rotates together. GGUF files store Q/K rows permuted
     * for llama.cpp, which rotates adjacent pairs (2i, 2i+1); Hugging Face checkpoints rotate
     * (i, i + headDim/2). Both are the same function of the same weights; the forward pass follows the file.
     */
    public enum RopeLayout { ADJACENT_PAIRS, HALVES }

    public int kvDim() {
        return kvHeads * headDim;
    }

    public int qDim() {
        return heads * headDim;
    }

    /** A canonical one-line description, part of the model fingerprint. */
    public String describe() {
        return String.format("dim=%d layers=%d heads=%d kv_heads=%d head_dim=%d hidden=%d experts=%d top_k=%d vocab=%d context=%d rope_theta=%s rms_eps=%s rope=%s",
                dim, layers, heads, kvHeads, headDim, hidden, experts, topK, vocab, context, ropeTheta, rmsEps, ropeLayout);
    }
}
