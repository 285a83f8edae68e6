package dev.mixtral.model.tokenizer;

/**
 * A SentencePiece-style vocabulary: token pieces (with '▁' for space and {@code <0xNN>} byte tokens),
 * their merge scores and ggml token types (1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused,
 * 6 byte), and the special ids. Read from GGUF metadata or a Hugging Face tokenizer.json.
 */
public record Vocabulary(String[] tokens, float[] scores, int[] types, int bos, int eos, int unk,
                         boolean addBos, boolean addSpacePrefix) {
    public int size() {
        return tokens.length;
    }
}
