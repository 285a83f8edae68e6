package dev.mixtral.model.tokenizer;

/**
 * A SentencePiece-style vocabulary: token pieces (with '▁' for space and {@code <0xNN>} byte tokens),
 * their merge scores and ggml token types (1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused,
 * 6 byte), and the special ids. Read from GGUF metadata or a Hugging Face tokenizer.json.
 */
public record Vocabulary(String[] tokens, float[] scores, int[] types, int bos, int eos, int unk,
                         boolean addBos, boolean addSpacePrefix) {
    /** TEMPORARY minimal reader until the tokenizer branch lands. */
    public static Vocabulary fromGguf(dev.mixtral.model.gguf.GgufFile f) {
        String[] tokens = f.getArray("tokenizer.ggml.tokens", String[].class);
        float[] scores = f.getArray("tokenizer.ggml.scores", float[].class);
        long[] types = f.getArray("tokenizer.ggml.token_type", long[].class);
        int[] t = new int[types.length];
        for (int i = 0; i < t.length; i++) t[i] = (int) types[i];
        return new Vocabulary(tokens, scores, t, f.getInt("tokenizer.ggml.bos_token_id"), f.getInt("tokenizer.ggml.eos_token_id"),
                f.getInt("tokenizer.ggml.unknown_token_id"), f.getBool("tokenizer.ggml.add_bos_token", true), true);
    }

    public int size() {
        return tokens.length;
    }
}
