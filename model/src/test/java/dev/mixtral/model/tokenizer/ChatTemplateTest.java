package dev.mixtral.model.tokenizer;

import dev.mixtral.model.TestData;
import dev.mixtral.model.gguf.GgufFile;
import dev.mixtral.model.tokenizer.ChatTemplate.Message;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ChatTemplateTest {
    private static Tokenizer tokenizer;

    @BeforeAll
    static void load() {
        tokenizer = new Tokenizer(VocabTestVectors.vocabulary());
    }

    @Test
    void isTheTemplateStoredInTheGoldenMixtralGguf() {
        try (GgufFile gguf = GgufFile.open(TestData.golden().resolve("tiny/mixtral-tiny-F32.gguf"))) {
            assertThat(gguf.getString("tokenizer.chat_template")).isEqualTo(ChatTemplate.JINJA);
        }
    }

    @Test
    void rendersTurnsInTheInstructFormat() {
        List<Message> chat = List.of(Message.user("Hi"), Message.assistant("Hello!"), Message.user("Bye"));
        assertThat(ChatTemplate.render(chat)).isEqualTo("[INST] Hi [/INST]Hello!</s>[INST] Bye [/INST]");
    }

    @Test
    void singleTurnEncodesLikeLlamaCppEncodesTheRenderedPrompt() {
        // prompt_ids that llama.cpp produced for this text in testdata/golden/tiny-F32.json
        List<Message> chat = List.of(Message.user("Explain mixture of experts."));
        assertThat(ChatTemplate.encode(tokenizer, chat)).containsExactly(
                1, 518, 25580, 29962, 12027, 7420, 29544, 310, 2902, 1372, 29889, 518, 29914, 25580, 29962);
        assertThat(ChatTemplate.encode(tokenizer, chat)).containsExactly(tokenizer.encode(ChatTemplate.render(chat), true));
    }

    @Test
    void assistantTurnsEndInTheEosIdAndTheNextTurnGetsTheSpacePrefixAgain() {
        List<Message> chat = List.of(Message.user("Hi"), Message.assistant("Hello!"), Message.user("Bye"));
        int[] ids = ChatTemplate.encode(tokenizer, chat);
        assertThat(ids).containsExactly(
                1,                                 // BOS
                518, 25580, 29962, 6324,           // "▁[" "INST" "]" "▁Hi"
                518, 29914, 25580, 29962,          // "▁[" "/" "INST" "]"
                10994, 29991,                      // "Hello" "!" (no space prefix: same segment)
                2,                                 // EOS, not the text "</s>"
                518, 25580, 29962, 2648, 29872,    // "▁[" "INST" "]" "▁By" "e": prefix again after EOS
                518, 29914, 25580, 29962);
        // the text "</s>" would have been several ordinary tokens
        assertThat(tokenizer.encode("</s>", false)).isNotEqualTo(new int[] {2});
    }

    @Test
    void chatEndingWithAnAssistantTurnEndsWithEos() {
        int[] ids = ChatTemplate.encode(tokenizer, List.of(Message.user("Hi"), Message.assistant("Hello")));
        assertThat(ids[ids.length - 1]).isEqualTo(2);
        assertThat(ids).containsOnlyOnce(2);
    }

    @Test
    void eosTextInsideAMessageStaysText() {
        int[] ids = ChatTemplate.encode(tokenizer, List.of(Message.user("say </s> please")));
        assertThat(ids).doesNotContain(2);
        assertThat(tokenizer.decode(ids)).isEqualTo("[INST] say </s> please [/INST]");
    }

    @Test
    void aLeadingSystemMessageIsFoldedIntoTheFirstUserMessage() {
        List<Message> chat = List.of(Message.system("Be brief."), Message.user("Hi"), Message.assistant("Hello"),
                Message.user("Bye"));
        assertThat(ChatTemplate.render(chat)).isEqualTo("[INST] Be brief.\n\nHi [/INST]Hello</s>[INST] Bye [/INST]");
        assertThat(ChatTemplate.encode(tokenizer, chat)).startsWith(
                1, 518, 25580, 29962, 1522, 11473, 29889, 13, 13, 18567, 518, 29914, 25580, 29962);
    }

    @Test
    void rejectsRolesOutOfOrder() {
        assertRejected(List.of(Message.assistant("Hello")), "message 1 has role 'assistant' where 'user' was expected");
        assertRejected(List.of(Message.user("a"), Message.user("b")), "message 2 has role 'user' where 'assistant' was expected");
        assertRejected(List.of(Message.user("a"), new Message("tool", "x")), "role 'tool'");
        assertRejected(List.of(Message.user("a"), Message.system("s")), "message 2 is a system message");
        assertRejected(List.of(Message.system("s")), "a system message must be followed by a user message");
        assertRejected(List.of(Message.system("s"), Message.assistant("x")), "a system message must be followed by a user message");
        assertRejected(List.of(), "at least one message");
    }

    private static void assertRejected(List<Message> chat, String message) {
        assertThatThrownBy(() -> ChatTemplate.render(chat)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(message);
        assertThatThrownBy(() -> ChatTemplate.encode(tokenizer, chat)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(message);
    }
}
