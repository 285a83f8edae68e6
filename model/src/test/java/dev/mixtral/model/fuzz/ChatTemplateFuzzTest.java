package dev.mixtral.model.fuzz;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.mixtral.model.synth.BundledVocabulary;
import dev.mixtral.model.tokenizer.ChatTemplate;
import dev.mixtral.model.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * The chat template and tokenizer on arbitrary conversations (any roles, any text including lone
 * surrogates and special-token text): an {@link IllegalArgumentException} saying what is wrong with
 * the conversation, or token ids all inside the vocabulary.
 */
class ChatTemplateFuzzTest {
    static final Tokenizer TOKENIZER = new Tokenizer(BundledVocabulary.vocabulary());
    static final String[] ROLES = {"user", "assistant", "system", "tool", "User", ""};

    @FuzzTest(maxDuration = "3s")
    void chat(FuzzedDataProvider in) {
        int n = in.consumeInt(0, 6);
        List<ChatTemplate.Message> messages = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String role = in.consumeBoolean() ? in.pickValue(ROLES) : in.consumeString(8);
            messages.add(new ChatTemplate.Message(role, in.consumeString(400)));
        }
        int[] ids;
        try {
            ids = ChatTemplate.encode(TOKENIZER, messages);
        } catch (IllegalArgumentException refused) {
            if (refused.getMessage() == null || refused.getMessage().isBlank()) throw new AssertionError("refused without a message", refused);
            return;
        }
        int vocab = TOKENIZER.vocabulary().size();
        for (int id : ids) if (id < 0 || id >= vocab) throw new AssertionError("token id " + id + " outside the vocabulary");
        TOKENIZER.decode(ids);
    }
}
