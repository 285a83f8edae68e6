package dev.mixtral.model.generate;

/**
 * Receives one sequence's output, on the engine's thread: keep each call short (hand off to the
 * client's own thread or queue). Exactly one of {@link #onFinish} or {@link #onError} ends the stream.
 */
public interface TokenSink {
    /** A new token; return false to end the sequence here (e.g. a stop string matched): it finishes with STOP. */
    boolean onToken(int token);

    void onFinish(FinishReason reason);

    void onError(Exception error);
}
