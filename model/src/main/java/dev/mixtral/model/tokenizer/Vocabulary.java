package dev.mixtral.model.tokenizer;

import dev.mixtral.model.ModelFileException;
import dev.mixtral.model.gguf.GgufFile;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * A SentencePiece-style vocabulary: token pieces (with '▁' for space and {@code <0xNN>} byte tokens),
 * their merge scores and ggml token types (1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused,
 * 6 byte), and the special ids. Read from GGUF metadata or a Hugging Face tokenizer.json.
 */
public record Vocabulary(String[] tokens, float[] scores, int[] types, int bos, int eos, int unk,
                         boolean addBos, boolean addSpacePrefix) {

    // ggml token types, as llama.cpp's converter writes them to tokenizer.ggml.token_type
    public static final int TYPE_NORMAL = 1;
    public static final int TYPE_UNKNOWN = 2;
    public static final int TYPE_CONTROL = 3;
    public static final int TYPE_USER_DEFINED = 4;
    public static final int TYPE_UNUSED = 5;
    public static final int TYPE_BYTE = 6;

    public Vocabulary {
        if (tokens.length == 0) throw new IllegalArgumentException("empty vocabulary");
        if (scores.length != tokens.length || types.length != tokens.length) {
            throw new IllegalArgumentException("vocabulary has " + tokens.length + " tokens but " + scores.length
                    + " scores and " + types.length + " token types");
        }
        checkId("BOS", bos, tokens.length);
        checkId("EOS", eos, tokens.length);
        checkId("UNK", unk, tokens.length);
        // Encoding looks pieces up by text, so a piece that appears twice would make one id unreachable.
        Map<String, Integer> seen = new HashMap<>(tokens.length * 2);
        for (int i = 0; i < tokens.length; i++) {
            if (tokens[i] == null || tokens[i].isEmpty()) throw new IllegalArgumentException("token " + i + " is empty");
            Integer first = seen.putIfAbsent(tokens[i], i);
            if (first != null) {
                throw new IllegalArgumentException("duplicate token '" + tokens[i] + "' at ids " + first + " and " + i);
            }
        }
    }

    private static void checkId(String what, int id, int size) {
        if (id < 0 || id >= size) {
            throw new IllegalArgumentException(what + " id " + id + " is outside the vocabulary of " + size + " tokens");
        }
    }

    public int size() {
        return tokens.length;
    }

    @Override
    public String toString() {
        return "Vocabulary[" + tokens.length + " tokens, bos " + bos + ", eos " + eos + ", unk " + unk
                + ", addBos " + addBos + ", addSpacePrefix " + addSpacePrefix + "]";
    }

    /** Control and unknown tokens: never part of the text, skipped when decoding. */
    public boolean isSpecial(int id) {
        return types[id] == TYPE_CONTROL || types[id] == TYPE_UNKNOWN;
    }

    public boolean isByte(int id) {
        return types[id] == TYPE_BYTE;
    }

    /**
     * Reads the {@code tokenizer.ggml.*} metadata of a GGUF file, with llama.cpp's defaults for the
     * optional keys (BOS 1, EOS 2, UNK 0, add BOS and space prefix on). Only SentencePiece vocabularies
     * ({@code tokenizer.ggml.model = llama}) are accepted: that is the tokenizer Mixtral uses.
     */
    public static Vocabulary fromGguf(GgufFile gguf) {
        Path path = gguf.path();
        String model = gguf.getString("tokenizer.ggml.model");
        if (!model.equals("llama")) {
            throw new ModelFileException(path, "tokenizer.ggml.model is '" + model
                    + "'; only SentencePiece vocabularies ('llama', as Mistral and Mixtral use) are supported");
        }
        String[] tokens = gguf.getArray("tokenizer.ggml.tokens", String[].class);
        int n = tokens.length;
        float[] scores = gguf.has("tokenizer.ggml.scores")
                ? gguf.getArray("tokenizer.ggml.scores", float[].class) : new float[n];
        int[] types = new int[n];
        if (gguf.has("tokenizer.ggml.token_type")) {
            long[] stored = gguf.getArray("tokenizer.ggml.token_type", long[].class);
            if (stored.length != n) {
                throw new ModelFileException(path, "tokenizer.ggml.token_type has " + stored.length
                        + " entries for " + n + " tokens");
            }
            for (int i = 0; i < n; i++) types[i] = (int) stored[i];
        } else {
            Arrays.fill(types, TYPE_NORMAL);
        }
        if (scores.length != n) {
            throw new ModelFileException(path, "tokenizer.ggml.scores has " + scores.length + " entries for " + n + " tokens");
        }
        int bos = optionalInt(gguf, "tokenizer.ggml.bos_token_id", 1);
        int eos = optionalInt(gguf, "tokenizer.ggml.eos_token_id", 2);
        int unk = optionalInt(gguf, "tokenizer.ggml.unknown_token_id", 0);
        boolean addBos = gguf.getBool("tokenizer.ggml.add_bos_token", true);
        boolean addSpacePrefix = gguf.getBool("tokenizer.ggml.add_space_prefix", true);
        try {
            return new Vocabulary(tokens, scores, types, bos, eos, unk, addBos, addSpacePrefix);
        } catch (IllegalArgumentException e) {
            throw new ModelFileException(path, "bad tokenizer metadata: " + e.getMessage(), e);
        }
    }

    private static int optionalInt(GgufFile gguf, String key, int fallback) {
        return gguf.has(key) ? gguf.getInt(key) : fallback;
    }

    /**
     * Reads a Hugging Face {@code tokenizer.json} of the SentencePiece-converted BPE kind that Mistral and
     * Mixtral checkpoints ship (and {@code tokenizer_config.json} beside it, if present). See
     * {@link TokenizerJson#read(Path)}.
     */
    public static Vocabulary fromTokenizerJson(Path tokenizerJson) {
        return TokenizerJson.read(tokenizerJson);
    }
}
