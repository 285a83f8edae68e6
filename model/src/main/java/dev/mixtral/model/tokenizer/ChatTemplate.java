package dev.mixtral.model.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.stream.IntStream;

/**
 * The Mixtral instruct format, as the {@code tokenizer.chat_template} of Mixtral GGUFs writes it:
 * <pre>
 * {{ bos_token }}[INST] {user} [/INST]{assistant}{{ eos_token }}[INST] {user2} [/INST]
 * </pre>
 * Roles must alternate user, assistant, user, ..., starting with user.
 *
 * <p>System messages: the stored template rejects them. Here one leading {@code system} message is
 * accepted and folded into the first user message as {@code system + "\n\n" + user} (Mistral's own
 * templates use this "\n\n" join; they attach it to the last user message, but the first keeps the
 * prompt prefix identical from turn to turn, so a cached prefix stays valid). A system message anywhere
 * else is rejected.
 *
 * <p>Token ids ({@link #encode}) are what llama.cpp produces for the rendered text with
 * {@code parse_special = true}: BOS, then the text with each {@code </s>} as the EOS id. llama.cpp
 * tokenizes the text between special tokens separately, and SentencePiece's space prefix goes on every
 * such segment (its {@code is_prev_special} rule), so each turn after an EOS starts with "▁[INST]"
 * like the first. Unlike llama.cpp, special-token text typed inside a message stays plain text: a user
 * cannot end a turn or inject control tokens by writing {@code </s>}.
 */
public final class ChatTemplate {
    private static final String EOS_TEXT = "</s>";

    /** The Jinja source of this format, as Mixtral GGUFs store it in {@code tokenizer.chat_template}. */
    public static final String JINJA = "{{ bos_token }}{% for message in messages %}"
            + "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
            + "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
            + "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
            + "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}"
            + "{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}";

    /** One chat message; {@code role} is {@code system}, {@code user} or {@code assistant}. */
    public record Message(String role, String content) {
        public Message {
            Objects.requireNonNull(role, "role");
            Objects.requireNonNull(content, "content");
        }

        public static Message system(String content) {
            return new Message("system", content);
        }

        public static Message user(String content) {
            return new Message("user", content);
        }

        public static Message assistant(String content) {
            return new Message("assistant", content);
        }
    }

    /** A stretch of prompt text, or the end of an assistant turn (rendered as {@code </s>}, encoded as EOS). */
    private record Part(String text, boolean eos) {
        static final Part EOS = new Part(EOS_TEXT, true);
    }

    private ChatTemplate() {}

    /** The prompt text without BOS (added as an id by the caller); each assistant turn ends in {@code </s>}. */
    public static String render(List<Message> messages) {
        StringBuilder text = new StringBuilder();
        for (Part part : parts(messages)) {
            text.append(part.text());
        }
        return text.toString();
    }

    /** The prompt's token ids: BOS, each segment of text, and the EOS id after every assistant turn. */
    public static int[] encode(Tokenizer tokenizer, List<Message> messages) {
        Vocabulary vocab = tokenizer.vocabulary();
        IntStream.Builder ids = IntStream.builder();
        ids.add(vocab.bos());
        for (Part part : parts(messages)) {
            if (part.eos()) {
                ids.add(vocab.eos());
            } else {
                // encode() gives every part the space prefix, as llama.cpp does after a special token
                for (int id : tokenizer.encode(part.text(), false)) ids.add(id);
            }
        }
        return ids.build().toArray();
    }

    /** The prompt as parts, so that rendering and encoding cannot disagree about where an EOS goes. */
    private static List<Part> parts(List<Message> messages) {
        List<Message> turns = foldSystemMessage(messages);
        List<Part> parts = new ArrayList<>();
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < turns.size(); i++) {
            Message m = turns.get(i);
            String expected = i % 2 == 0 ? "user" : "assistant";
            if (!m.role().equals(expected)) {
                throw new IllegalArgumentException("message " + (i + 1) + " has role '" + m.role() + "' where '"
                        + expected + "' was expected: roles must alternate user/assistant/user/..., starting with"
                        + " user (one system message may come first)");
            }
            if (expected.equals("user")) {
                text.append("[INST] ").append(m.content()).append(" [/INST]");
            } else {
                text.append(m.content());
                parts.add(new Part(text.toString(), false));
                parts.add(Part.EOS);
                text.setLength(0);
            }
        }
        if (!text.isEmpty()) parts.add(new Part(text.toString(), false));
        return parts;
    }

    private static List<Message> foldSystemMessage(List<Message> messages) {
        if (messages.isEmpty()) throw new IllegalArgumentException("a chat needs at least one message");
        for (int i = 1; i < messages.size(); i++) {
            if (messages.get(i).role().equals("system")) {
                throw new IllegalArgumentException("message " + (i + 1)
                        + " is a system message: only the first message may be one");
            }
        }
        if (!messages.getFirst().role().equals("system")) return messages;
        if (messages.size() < 2 || !messages.get(1).role().equals("user")) {
            throw new IllegalArgumentException("a system message must be followed by a user message");
        }
        List<Message> turns = new ArrayList<>(messages.subList(1, messages.size()));
        turns.set(0, Message.user(messages.getFirst().content() + "\n\n" + messages.get(1).content()));
        return turns;
    }
}
