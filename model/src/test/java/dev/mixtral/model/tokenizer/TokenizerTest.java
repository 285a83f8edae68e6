package dev.mixtral.model.tokenizer;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TokenizerTest {
    private static Tokenizer tokenizer;

    @BeforeAll
    static void load() {
        tokenizer = new Tokenizer(VocabTestVectors.vocabulary());
    }

    static List<VocabTestVectors.Case> cases() {
        return VocabTestVectors.cases();
    }

    @Test
    void allLlamaCppTestVectorsEncodeExactly() {
        List<VocabTestVectors.Case> cases = cases();
        List<String> failures = new ArrayList<>();
        for (VocabTestVectors.Case c : cases) {
            int[] actual = tokenizer.encode(c.text(), false);
            if (!Arrays.equals(actual, c.ids())) {
                failures.add(c + ": expected " + Arrays.toString(c.ids()) + " got " + Arrays.toString(actual));
            }
        }
        System.out.println("llama.cpp SPM test vectors: " + (cases.size() - failures.size()) + "/" + cases.size() + " encode exactly");
        assertThat(cases).hasSize(46);
        assertThat(failures).isEmpty();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void encodesTestVector(VocabTestVectors.Case c) {
        assertThat(tokenizer.encode(c.text(), false)).containsExactly(c.ids());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void decodesTestVectorBackToItsText(VocabTestVectors.Case c) {
        assertThat(tokenizer.decode(c.ids())).isEqualTo(c.text());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void streamingDecodeEqualsWholeDecode(VocabTestVectors.Case c) {
        StreamingDecoder decoder = tokenizer.newDecoder();
        StringBuilder streamed = new StringBuilder();
        for (int id : c.ids()) {
            String chunk = decoder.accept(id);
            assertThat(chunk).doesNotContain("\uFFFD"); // never half a character
            streamed.append(chunk);
        }
        streamed.append(decoder.finish());
        assertThat(streamed.toString()).isEqualTo(c.text());
    }

    @Test
    void promptWithBos() {
        assertThat(tokenizer.encode("Once upon a time", true)).containsExactly(1, 9038, 2501, 263, 931);
    }

    @Test
    void matchesTheGoldenPromptIdsOfLlamaCpp() {
        // prompt_ids of testdata/golden/tiny-*.json, produced by llama.cpp
        assertThat(tokenizer.encode("The capital of France is", true)).containsExactly(1, 450, 7483, 310, 3444, 338);
        assertThat(tokenizer.encode("[INST] Explain mixture of experts. [/INST]", true)).containsExactly(
                1, 518, 25580, 29962, 12027, 7420, 29544, 310, 2902, 1372, 29889, 518, 29914, 25580, 29962);
    }

    @Test
    void emptyTextIsNoTokensOrJustBos() {
        assertThat(tokenizer.encode("", false)).isEmpty();
        assertThat(tokenizer.encode("", true)).containsExactly(1);
    }

    @Test
    void controlTokenTextIsPlainText() {
        int[] ids = tokenizer.encode("</s>", false);
        assertThat(ids).doesNotContain(2).hasSizeGreaterThan(1);
        assertThat(tokenizer.decode(ids)).isEqualTo("</s>");
    }

    @Test
    void charactersOutsideTheVocabularyBecomeByteTokens() {
        // U+1F999 (🦙) is not a piece: its four UTF-8 bytes F0 9F A6 99 are <0xF0>.. = ids 243 162 169 156
        assertThat(tokenizer.encode("🦙", false)).containsExactly(29871, 243, 162, 169, 156);
    }

    @Test
    void decodeSkipsControlTokensAndDropsOnlyTheFirstSpace() {
        int[] ids = tokenizer.encode("Hello world", true);
        assertThat(ids[0]).isEqualTo(1);
        assertThat(tokenizer.decode(ids)).isEqualTo("Hello world");
        int[] withEos = Arrays.copyOf(ids, ids.length + 1);
        withEos[ids.length] = 2;
        assertThat(tokenizer.decode(withEos)).isEqualTo("Hello world");
        // two leading spaces in the text: the prefix space goes, the text's own stays
        assertThat(tokenizer.decode(tokenizer.encode(" Hello", false))).isEqualTo(" Hello");
    }

    @Test
    void piecesAndBytesOfSingleTokens() {
        assertThat(tokenizer.piece(15043)).isEqualTo(" Hello");
        assertThat(tokenizer.piece(1)).isEqualTo("<s>");
        assertThat(tokenizer.piece(13)).isEqualTo("<0x0A>");
        assertThat(tokenizer.pieceBytes(13)).containsExactly('\n');
        assertThat(tokenizer.pieceBytes(1)).isEmpty();
        assertThat(tokenizer.pieceBytes(15043)).isEqualTo(" Hello".getBytes(StandardCharsets.UTF_8));
        assertThatThrownBy(() -> tokenizer.pieceBytes(32000)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("32000");
    }

    @Test
    void streamingDecoderHoldsMultiByteCharactersUntilComplete() {
        // 此 = E6 AD A4, spelled with three byte tokens (<0xE6> is id 3 + 0xE6)
        int e6 = 3 + 0xE6, ad = 3 + 0xAD, a4 = 3 + 0xA4;
        StreamingDecoder decoder = tokenizer.newDecoder();
        assertThat(decoder.accept(1)).isEmpty();          // BOS
        assertThat(decoder.accept(15043)).isEqualTo("Hello"); // leading space of the text dropped
        assertThat(decoder.accept(29871)).isEqualTo(" ");
        assertThat(decoder.accept(e6)).isEmpty();
        assertThat(decoder.hasPending()).isTrue();
        assertThat(decoder.accept(ad)).isEmpty();
        assertThat(decoder.accept(a4)).isEqualTo("此");
        assertThat(decoder.hasPending()).isFalse();
        // a four-byte emoji, then an ASCII token that completes nothing
        int[] llama = {3 + 0xF0, 3 + 0x9F, 3 + 0xA6, 3 + 0x99};
        for (int i = 0; i < 3; i++) assertThat(decoder.accept(llama[i])).isEmpty();
        assertThat(decoder.accept(llama[3])).isEqualTo("🦙");
        assertThat(decoder.finish()).isEmpty();
    }

    @Test
    void streamingDecoderFlushesBrokenCharacters() {
        int e6 = 3 + 0xE6, ad = 3 + 0xAD;
        StreamingDecoder decoder = tokenizer.newDecoder(false);
        assertThat(decoder.accept(15043)).isEqualTo(" Hello"); // continuation: the space stays
        assertThat(decoder.accept(e6)).isEmpty();
        // a new character starts before the old one finished: the broken one comes out as U+FFFD
        assertThat(decoder.accept(e6)).isEqualTo("\uFFFD");
        assertThat(decoder.accept(ad)).isEmpty();
        assertThat(decoder.finish()).isEqualTo("\uFFFD");
        assertThat(decoder.hasPending()).isFalse();
        // the whole-sequence decode agrees on the same bytes
        assertThat(tokenizer.decode(new int[] {e6, e6, ad})).isEqualTo("\uFFFD\uFFFD");
    }

    @Test
    @Timeout(value = 20, unit = TimeUnit.SECONDS) // a guard against quadratic merging, not a benchmark
    void longTextsTokenizeAndRoundTrip() {
        StringBuilder text = new StringBuilder();
        List<VocabTestVectors.Case> cases = cases();
        for (int i = 0; text.length() < 100_000; i++) text.append(cases.get(i % cases.size()).text()).append(' ');
        String longText = text.toString();
        int[] ids = tokenizer.encode(longText, true);
        assertThat(ids.length).isBetween(longText.length() / 10, longText.length());
        assertThat(tokenizer.decode(ids)).isEqualTo(longText);

        // one run of 100 000 identical letters: every pair is a candidate at every step
        String letters = "a".repeat(100_000);
        int[] letterIds = tokenizer.encode(letters, false);
        assertThat(tokenizer.decode(letterIds)).isEqualTo(letters);
        assertThat(letterIds.length).isLessThan(letters.length() / 2);
    }

    @Test
    void userDefinedTokensAreCutOutOfTheText() {
        // A toy vocabulary: pieces ▁, a, b, ab, ▁a, ▁ab and a user-defined <tool>.
        String[] tokens = {"<unk>", "<s>", "</s>", "▁", "a", "b", "ab", "▁a", "▁ab", "<tool>"};
        float[] scores = {0, 0, 0, -1, -2, -3, -4, -5, -6, 0};
        int[] types = {2, 3, 3, 1, 1, 1, 1, 1, 1, Vocabulary.TYPE_USER_DEFINED};
        Tokenizer toy = new Tokenizer(new Vocabulary(tokens, scores, types, 1, 2, 0, true, true));
        // the text after <tool> gets the space prefix again, as llama.cpp does after a special token
        assertThat(toy.encode("ab<tool>ab", true)).containsExactly(1, 8, 9, 8);
        assertThat(toy.decode(new int[] {1, 8, 9, 8})).isEqualTo("ab<tool> ab");
        // characters missing from the vocabulary with no byte tokens fall back to <unk>
        assertThat(toy.encode("c", false)).containsExactly(3, 0);
    }

    @Test
    void mergesTheHighestScoringPairFirstAndTheLeftmostOnTies() {
        // "abc": ab scores higher than bc, so a|b merge first and c stays alone
        String[] tokens = {"<unk>", "<s>", "</s>", "a", "b", "c", "ab", "bc"};
        float[] scores = {0, 0, 0, -1, -1, -1, -2, -3};
        int[] types = {2, 3, 3, 1, 1, 1, 1, 1};
        Tokenizer toy = new Tokenizer(new Vocabulary(tokens, scores, types, 1, 2, 0, false, false));
        assertThat(toy.encode("abc", false)).containsExactly(6, 5);
        float[] bcFirst = {0, 0, 0, -1, -1, -1, -3, -2};
        Tokenizer other = new Tokenizer(new Vocabulary(tokens, bcFirst, types, 1, 2, 0, false, false));
        assertThat(other.encode("abc", false)).containsExactly(3, 7);
        // equal scores: the leftmost pair wins, "aaa" -> aa|a
        String[] tokens2 = {"<unk>", "<s>", "</s>", "a", "aa"};
        Tokenizer ties = new Tokenizer(new Vocabulary(tokens2, new float[] {0, 0, 0, -1, -2}, new int[] {2, 3, 3, 1, 1},
                1, 2, 0, false, false));
        assertThat(ties.encode("aaa", false)).containsExactly(4, 3);
    }
}
