package dev.mixtral.model.generate;

/** Why a sequence ended; the names are OpenAI's {@code finish_reason} values where one exists. */
public enum FinishReason {
    /** An end-of-sequence token or a stop condition of the caller. */
    STOP,
    /** The token limit (max tokens, or the context length). */
    LENGTH,
    /** The caller cancelled (e.g. a client that disconnected). */
    CANCELLED;

    public String openAiName() {
        return name().toLowerCase();
    }
}
