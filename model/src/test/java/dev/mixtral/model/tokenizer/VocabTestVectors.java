package dev.mixtral.model.tokenizer;

import dev.mixtral.model.TestData;
import dev.mixtral.model.gguf.GgufFile;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** llama.cpp's tokenizer test vectors for the SentencePiece vocabulary, and that vocabulary. */
final class VocabTestVectors {
    record Case(int index, String text, int[] ids) {
        @Override
        public String toString() {
            String shown = text.replace("\n", "\\n").replace("\t", "\\t");
            return "#" + index + " '" + (shown.length() > 40 ? shown.substring(0, 40) + "…" : shown) + "'";
        }
    }

    static final String SEPARATOR = "\n__ggml_vocab_test__\n";
    private static Vocabulary vocabulary;

    private VocabTestVectors() {}

    static Path gguf() {
        return TestData.vocab().resolve("ggml-vocab-llama-spm.gguf");
    }

    static synchronized Vocabulary vocabulary() {
        if (vocabulary == null) {
            try (GgufFile file = GgufFile.open(gguf())) {
                vocabulary = Vocabulary.fromGguf(file);
            }
        }
        return vocabulary;
    }

    /**
     * The texts and expected ids. Like llama.cpp's test-tokenizer-0, the .inp file is split on
     * "\n__ggml_vocab_test__\n" (the file ends with one, which leaves no text after it), and the .out
     * file has one line of space-separated ids per text (an empty line for the empty text).
     */
    static List<Case> cases() {
        try {
            String inp = Files.readString(Path.of(gguf() + ".inp"), StandardCharsets.UTF_8);
            List<String> out = Files.readAllLines(Path.of(gguf() + ".out"), StandardCharsets.UTF_8);
            List<String> texts = new ArrayList<>();
            int pos = 0;
            while (pos < inp.length()) {
                int next = inp.indexOf(SEPARATOR, pos);
                if (next < 0) {
                    texts.add(inp.substring(pos));
                    break;
                }
                texts.add(inp.substring(pos, next));
                pos = next + SEPARATOR.length();
            }
            if (texts.size() != out.size()) {
                throw new IllegalStateException(texts.size() + " texts but " + out.size() + " expected-id lines");
            }
            List<Case> cases = new ArrayList<>();
            for (int i = 0; i < texts.size(); i++) {
                String line = out.get(i).strip();
                int[] ids = line.isEmpty() ? new int[0]
                        : Arrays.stream(line.split(" +")).mapToInt(Integer::parseInt).toArray();
                cases.add(new Case(i, texts.get(i), ids));
            }
            return cases;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
