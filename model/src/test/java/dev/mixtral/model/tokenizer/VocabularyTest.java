package dev.mixtral.model.tokenizer;

import dev.mixtral.model.ModelFileException;
import dev.mixtral.model.gguf.GgufFile;
import dev.mixtral.model.gguf.GgufValueType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class VocabularyTest {

    @Test
    void readsTheSentencePieceVocabularyOfAGguf() {
        Vocabulary v = VocabTestVectors.vocabulary();
        assertThat(v.size()).isEqualTo(32000);
        assertThat(v.tokens()[15043]).isEqualTo("▁Hello");
        assertThat(v.scores()[260]).isEqualTo(-1f); // "▁t"
        assertThat(v.types()[0]).isEqualTo(Vocabulary.TYPE_UNKNOWN);
        assertThat(v.types()[1]).isEqualTo(Vocabulary.TYPE_CONTROL);
        assertThat(v.types()[3]).isEqualTo(Vocabulary.TYPE_BYTE);
        assertThat(v.tokens()[3 + 0x0A]).isEqualTo("<0x0A>");
        assertThat(v.bos()).isEqualTo(1);
        assertThat(v.eos()).isEqualTo(2);
        assertThat(v.unk()).isEqualTo(0);
        assertThat(v.addBos()).isTrue();
        assertThat(v.addSpacePrefix()).isTrue();
        assertThat(v.isSpecial(2)).isTrue();
        assertThat(v.isByte(13)).isTrue();
    }

    @Test
    void optionalKeysTakeLlamaCppDefaults(@TempDir Path dir) throws IOException {
        Map<String, Object> meta = minimal("llama");
        meta.put("tokenizer.ggml.add_space_prefix", false);
        meta.put("tokenizer.ggml.add_bos_token", false);
        Vocabulary v = read(dir, meta);
        assertThat(v.bos()).isEqualTo(1);
        assertThat(v.eos()).isEqualTo(2);
        assertThat(v.unk()).isEqualTo(0);
        assertThat(v.addBos()).isFalse();
        assertThat(v.addSpacePrefix()).isFalse();
        assertThat(v.scores()).containsOnly(0f);
        assertThat(v.types()).containsOnly(Vocabulary.TYPE_NORMAL);
    }

    @Test
    void rejectsOtherTokenizerModels(@TempDir Path dir) {
        assertThatThrownBy(() -> read(dir, minimal("gpt2"))).isInstanceOf(ModelFileException.class)
                .hasMessageContaining("vocab.gguf").hasMessageContaining("tokenizer.ggml.model is 'gpt2'")
                .hasMessageContaining("only SentencePiece");
    }

    @Test
    void rejectsInconsistentMetadata(@TempDir Path dir) {
        Map<String, Object> badBos = minimal("llama");
        badBos.put("tokenizer.ggml.bos_token_id", 7L);
        assertThatThrownBy(() -> read(dir, badBos)).isInstanceOf(ModelFileException.class)
                .hasMessageContaining("BOS id 7 is outside the vocabulary of 4 tokens");
        Map<String, Object> duplicate = minimal("llama");
        duplicate.put("tokenizer.ggml.tokens", new String[] {"<unk>", "<s>", "</s>", "<s>"});
        assertThatThrownBy(() -> read(dir, duplicate)).isInstanceOf(ModelFileException.class)
                .hasMessageContaining("duplicate token '<s>' at ids 1 and 3");
        Map<String, Object> shortScores = minimal("llama");
        shortScores.put("tokenizer.ggml.scores", new float[] {0, 0});
        assertThatThrownBy(() -> read(dir, shortScores)).isInstanceOf(ModelFileException.class)
                .hasMessageContaining("tokenizer.ggml.scores has 2 entries for 4 tokens");
    }

    private static Map<String, Object> minimal(String model) {
        Map<String, Object> meta = new LinkedHashMap<>();
        meta.put("tokenizer.ggml.model", model);
        meta.put("tokenizer.ggml.tokens", new String[] {"<unk>", "<s>", "</s>", "▁a"});
        return meta;
    }

    private static Vocabulary read(Path dir, Map<String, Object> meta) throws IOException {
        Path file = dir.resolve("vocab.gguf");
        Files.write(file, ggufWithMetadata(meta));
        try (GgufFile gguf = GgufFile.open(file)) {
            return Vocabulary.fromGguf(gguf);
        }
    }

    /** A GGUF v3 file with no tensors and the given metadata (String, Long as u32, Boolean, String[], float[]). */
    private static byte[] ggufWithMetadata(Map<String, Object> meta) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes("GGUF".getBytes(StandardCharsets.US_ASCII));
        out.writeBytes(le(4).putInt(3).array());
        out.writeBytes(le(8).putLong(0).array());
        out.writeBytes(le(8).putLong(meta.size()).array());
        for (Map.Entry<String, Object> e : meta.entrySet()) {
            writeString(out, e.getKey());
            switch (e.getValue()) {
                case String s -> {
                    out.writeBytes(le(4).putInt(GgufValueType.STRING.id()).array());
                    writeString(out, s);
                }
                case Long l -> out.writeBytes(le(8).putInt(GgufValueType.UINT32.id()).putInt(l.intValue()).array());
                case Boolean b -> {
                    out.writeBytes(le(4).putInt(GgufValueType.BOOL.id()).array());
                    out.write(b ? 1 : 0);
                }
                case String[] a -> {
                    out.writeBytes(le(16).putInt(GgufValueType.ARRAY.id()).putInt(GgufValueType.STRING.id()).putLong(a.length).array());
                    for (String s : a) writeString(out, s);
                }
                case float[] a -> {
                    out.writeBytes(le(16).putInt(GgufValueType.ARRAY.id()).putInt(GgufValueType.FLOAT32.id()).putLong(a.length).array());
                    for (float f : a) out.writeBytes(le(4).putFloat(f).array());
                }
                default -> throw new IllegalArgumentException("unsupported " + e.getValue());
            }
        }
        return out.toByteArray();
    }

    private static void writeString(ByteArrayOutputStream out, String s) {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        out.writeBytes(le(8).putLong(bytes.length).array());
        out.writeBytes(bytes);
    }

    private static ByteBuffer le(int size) {
        return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    }
}
