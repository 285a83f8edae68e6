package dev.mixtral.loadtest;

import java.util.List;

/**
 * One request to send: a prompt (completions) or messages (chat), the output tokens asked for, the
 * input tokens we expect (the server's {@code usage} wins when it reports them) and a per-request seed.
 */
record RequestSpec(int index, String prompt, List<Message> messages, int maxTokens, int expectedInputTokens, long seed) {
    record Message(String role, String content) {}

    /** The prompt as the completions endpoint wants it (a chat dataset's messages joined by lines). */
    String promptText() {
        if (prompt != null) return prompt;
        StringBuilder sb = new StringBuilder();
        for (Message m : messages) sb.append(sb.isEmpty() ? "" : "\n").append(m.content());
        return sb.toString();
    }

    /** The messages as the chat endpoint wants them (a plain prompt becomes one user message). */
    List<Message> chatMessages() {
        return messages != null ? messages : List.of(new Message("user", prompt));
    }
}
