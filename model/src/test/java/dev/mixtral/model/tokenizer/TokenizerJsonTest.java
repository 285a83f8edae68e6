package dev.mixtral.model.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mixtral.model.ModelFileException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TokenizerJsonTest {
    private static Vocabulary gguf;
    private static Vocabulary roundTripped;
    private static JsonNode written;

    @BeforeAll
    static void writeAndReadBack(@TempDir Path dir) throws IOException {
        gguf = VocabTestVectors.vocabulary();
        Path file = dir.resolve("tokenizer.json");
        TokenizerJson.write(gguf, file);
        written = new ObjectMapper().readTree(file.toFile());
        roundTripped = Vocabulary.fromTokenizerJson(file);
    }

    @Test
    void readBackVocabularyKeepsTokensTypesAndSpecials() {
        assertThat(roundTripped.tokens()).containsExactly(gguf.tokens());
        assertThat(roundTripped.types()).containsExactly(gguf.types());
        assertThat(roundTripped.bos()).isEqualTo(1);
        assertThat(roundTripped.eos()).isEqualTo(2);
        assertThat(roundTripped.unk()).isEqualTo(0);
        assertThat(roundTripped.addBos()).isTrue();
        assertThat(roundTripped.addSpacePrefix()).isTrue();
    }

    @Test
    void allTestVectorsPassThroughTheTokenizerReadFromTokenizerJson() {
        Tokenizer tokenizer = new Tokenizer(roundTripped);
        List<VocabTestVectors.Case> cases = VocabTestVectors.cases();
        List<String> failures = new ArrayList<>();
        for (VocabTestVectors.Case c : cases) {
            int[] ids = tokenizer.encode(c.text(), false);
            if (!Arrays.equals(ids, c.ids())) failures.add(c + ": got " + Arrays.toString(ids));
            else if (!tokenizer.decode(ids).equals(c.text())) failures.add(c + ": decodes differently");
        }
        System.out.println("tokenizer.json round trip: " + (cases.size() - failures.size()) + "/" + cases.size()
                + " test vectors exact");
        assertThat(failures).isEmpty();
        assertThat(tokenizer.encode("Once upon a time", true)).containsExactly(1, 9038, 2501, 263, 931);
    }

    @Test
    void derivedScoresKeepTheOrderOfTheGgufScores() {
        // every piece that a merge makes: a better GGUF score means a better derived score
        Integer[] made = IntStream.range(0, gguf.size())
                .filter(id -> gguf.types()[id] == Vocabulary.TYPE_NORMAL && gguf.tokens()[id].codePointCount(0, gguf.tokens()[id].length()) > 1)
                .boxed().toArray(Integer[]::new);
        Arrays.sort(made, (a, b) -> Float.compare(gguf.scores()[b], gguf.scores()[a]));
        int inversions = 0;
        for (int i = 1; i < made.length; i++) {
            boolean ggufStrictlyBetter = gguf.scores()[made[i - 1]] > gguf.scores()[made[i]];
            if (ggufStrictlyBetter && roundTripped.scores()[made[i - 1]] <= roundTripped.scores()[made[i]]) inversions++;
        }
        assertThat(made.length).isGreaterThan(25_000);
        assertThat(inversions).isZero();
    }

    @Test
    void writesAHuggingFaceSentencePieceBpeFile() {
        JsonNode model = written.path("model");
        assertThat(model.path("type").asText()).isEqualTo("BPE");
        assertThat(model.path("byte_fallback").asBoolean()).isTrue();
        assertThat(model.path("unk_token").asText()).isEqualTo("<unk>");
        assertThat(model.path("vocab").size()).isEqualTo(32000);
        assertThat(model.path("vocab").path("▁Hello").asInt()).isEqualTo(15043);
        // "▁t" has the best score of all merged pieces (-1), so its only split comes first
        assertThat(model.path("merges").get(0).asText()).isEqualTo("▁ t");
        assertThat(model.path("merges").size()).isGreaterThan(50_000);
        assertThat(written.path("normalizer").toString()).contains("\"Prepend\"", "\"Replace\"", "▁");
        assertThat(written.path("decoder").toString()).contains("ByteFallback", "Fuse", "Strip");
        assertThat(written.path("post_processor").path("single").get(0).path("SpecialToken").path("id").asText())
                .isEqualTo("<s>");
        JsonNode added = written.path("added_tokens");
        assertThat(added).hasSize(3);
        assertThat(added.get(2).path("content").asText()).isEqualTo("</s>");
        assertThat(added.get(2).path("special").asBoolean()).isTrue();
    }

    @Test
    void mergesListEverySplitIntoTwoPieces() {
        List<String[]> merges = TokenizerJson.merges(gguf);
        List<String> ofHello = merges.stream().filter(m -> (m[0] + m[1]).equals("▁Hello")).map(m -> m[0] + " " + m[1]).toList();
        // every split of ▁Hello whose halves are both pieces
        assertThat(ofHello).contains("▁ Hello", "▁H ello", "▁Hel lo", "▁Hell o");
        assertThat(ofHello).doesNotHaveDuplicates();
    }

    @Test
    void readsNewerFilesWithPairMergesMetaspaceAndAConfig(@TempDir Path dir) throws IOException {
        // HF BPE applies merges by rank: "b c" ranks above "a b", so "abc" is a|bc although ab exists
        Files.writeString(dir.resolve("tokenizer.json"), """
                {"added_tokens": [
                   {"id": 0, "content": "<unk>", "special": true},
                   {"id": 1, "content": "<s>", "special": true},
                   {"id": 2, "content": "</s>", "special": true},
                   {"id": 11, "content": "<tool>", "special": false}],
                 "normalizer": null,
                 "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": false},
                 "model": {"type": "BPE", "unk_token": "<unk>", "byte_fallback": true,
                   "vocab": {"<unk>": 0, "<s>": 1, "</s>": 2, "▁": 3, "a": 4, "b": 5, "c": 6, "bc": 7, "ab": 8,
                             "▁a": 9, "<0x0A>": 10},
                   "merges": [["b", "c"], ["a", "b"], ["▁", "a"]]}}
                """);
        Files.writeString(dir.resolve("tokenizer_config.json"), """
                {"add_bos_token": false, "bos_token": {"content": "<s>"}, "eos_token": "</s>"}
                """);
        Vocabulary vocab = Vocabulary.fromTokenizerJson(dir.resolve("tokenizer.json"));
        assertThat(vocab.addBos()).isFalse();
        assertThat(vocab.addSpacePrefix()).isTrue();
        assertThat(vocab.types()).containsExactly(2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 6, 4);
        assertThat(vocab.scores()[7]).isGreaterThan(vocab.scores()[8]).isGreaterThan(vocab.scores()[9]);
        Tokenizer tokenizer = new Tokenizer(vocab);
        // "▁abc": b|c first (rank 0), then ▁|a (rank 2); a|bc and ▁a|bc make no piece
        assertThat(tokenizer.encode("abc", false)).containsExactly(9, 7);
        assertThat(tokenizer.encode("abc\n", true)).containsExactly(1, 9, 7, 10);
    }

    @Test
    void writtenConfigRestoresTheBosFlag(@TempDir Path dir) {
        Vocabulary noBos = new Vocabulary(gguf.tokens(), gguf.scores(), gguf.types(), 1, 2, 0, false, true);
        TokenizerJson.write(noBos, dir.resolve("tokenizer.json"));
        TokenizerJson.writeConfig(noBos, dir.resolve("tokenizer_config.json"));
        Vocabulary back = Vocabulary.fromTokenizerJson(dir.resolve("tokenizer.json"));
        assertThat(back.addBos()).isFalse();
        assertThat(back.eos()).isEqualTo(2);
    }

    @Test
    void rejectsTokenizersThatAreNotSentencePieceBpe(@TempDir Path dir) throws IOException {
        assertRejected(dir, """
                {"model": {"type": "Unigram", "vocab": [["<unk>", 0.0]]}}""", "tokenizer model type is 'Unigram'");
        assertRejected(dir, """
                {"pre_tokenizer": {"type": "ByteLevel"},
                 "model": {"type": "BPE", "vocab": {"<unk>": 0, "<s>": 1, "</s>": 2}, "merges": []}}""",
                "pre-tokenizer 'ByteLevel' is not supported");
        assertRejected(dir, """
                {"pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first"},
                 "model": {"type": "BPE", "vocab": {"<unk>": 0, "<s>": 1, "</s>": 2}, "merges": []}}""",
                "splits words at spaces");
        assertRejected(dir, """
                {"normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": "▁"},
                 "model": {"type": "BPE", "vocab": {"<unk>": 0, "<s>": 1, "</s>": 2, "a": 3, "b": 4}, "merges": ["a b"]}}""",
                "merge 0 'a b' makes 'ab', which is not in the vocabulary");
        assertRejected(dir, """
                {"normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": "▁"},
                 "model": {"type": "BPE", "vocab": {"<unk>": 0, "<s>": 1, "</s>": 2, "a": 4}, "merges": []}}""",
                "no token has id 3");
        assertRejected(dir, "{\"model\": ", "not valid JSON");
        assertThatThrownBy(() -> Vocabulary.fromTokenizerJson(dir.resolve("missing.json")))
                .isInstanceOf(ModelFileException.class).hasMessageContaining("missing.json").hasMessageContaining("no such file");
    }

    private static void assertRejected(Path dir, String json, String message) throws IOException {
        Path file = dir.resolve("tokenizer.json");
        Files.writeString(file, json);
        assertThatThrownBy(() -> Vocabulary.fromTokenizerJson(file)).isInstanceOf(ModelFileException.class)
                .hasMessageContaining(file.toString()).hasMessageContaining(message);
    }
}
