package dev.mixtral.model.generate;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntConsumer;

/**
 * A sink for a caller that wants one sequence's whole result: its tokens and how it ended, or the error
 * that ended it. {@code onToken} sees each token as it comes (e.g. to print it).
 */
public final class CollectedTokens implements TokenSink {
    private final IntConsumer onToken;
    private final List<Integer> tokens = new ArrayList<>();
    private FinishReason reason;
    private Exception error;

    public CollectedTokens(IntConsumer onToken) {
        this.onToken = onToken;
    }

    public CollectedTokens() {
        this(t -> {});
    }

    @Override
    public synchronized boolean onToken(int token) {
        tokens.add(token);
        onToken.accept(token);
        return true;
    }

    @Override
    public synchronized void onFinish(FinishReason reason) {
        this.reason = reason;
    }

    @Override
    public synchronized void onError(Exception error) {
        this.error = error;
    }

    public synchronized int[] tokens() {
        return tokens.stream().mapToInt(Integer::intValue).toArray();
    }

    /** How the sequence ended; throws the error that ended it instead, if one did. */
    public synchronized FinishReason reason() {
        if (error instanceof RuntimeException e) throw e;
        if (error != null) throw new IllegalStateException(error.getMessage(), error);
        if (reason == null) throw new IllegalStateException("the sequence has not ended");
        return reason;
    }
}
