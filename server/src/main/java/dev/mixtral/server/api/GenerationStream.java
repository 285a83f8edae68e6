package dev.mixtral.server.api;

import dev.mixtral.model.generate.StopAwareText;
import dev.mixtral.model.generate.StopPolicy;
import dev.mixtral.model.generate.FinishReason;
import dev.mixtral.model.generate.TokenSink;
import dev.mixtral.model.tokenizer.StreamingDecoder;

import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * One request's output, from the engine thread to the HTTP thread. Decoding and stop-string matching
 * happen here, on the engine side, so a stop string ends the sequence at the step it appears.
 */
final class GenerationStream implements TokenSink {
    sealed interface Event permits Text, Done, Failed {}
    /** New text and the tokens that made it (a character may take several byte tokens). */
    record Text(String text, int[] tokens) implements Event {}
    record Done(FinishReason reason) implements Event {}
    record Failed(Exception error) implements Event {}

    private final BlockingQueue<Event> events = new LinkedBlockingQueue<>();
    private final StopAwareText text;
    private final ServerMetrics metrics;
    private final long startNanos;
    private long lastTokenNanos;
    private volatile int completionTokens;
    private final java.util.List<Integer> unsent = new java.util.ArrayList<>();

    GenerationStream(StreamingDecoder decoder, StopPolicy stop, ServerMetrics metrics, long startNanos) {
        this.text = new StopAwareText(decoder, stop);
        this.metrics = metrics;
        this.startNanos = startNanos;
    }

    @Override
    public boolean onToken(int token) {
        long now = System.nanoTime();
        if (completionTokens == 0) metrics.timeToFirstToken.observe((now - startNanos) / 1e9);
        else metrics.interTokenLatency.observe((now - lastTokenNanos) / 1e9);
        lastTokenNanos = now;
        completionTokens++;
        metrics.generationTokens.inc();
        unsent.add(token);
        String piece = text.accept(token);
        if (!piece.isEmpty()) events.add(new Text(piece, drainUnsent()));
        return !text.stopped();
    }

    @Override
    public void onFinish(FinishReason reason) {
        String rest = text.finish();
        if (!rest.isEmpty() && reason != FinishReason.CANCELLED) events.add(new Text(rest, drainUnsent()));
        events.add(new Done(reason));
    }

    @Override
    public void onError(Exception error) {
        events.add(new Failed(error));
    }

    private int[] drainUnsent() {
        int[] ids = unsent.stream().mapToInt(Integer::intValue).toArray();
        unsent.clear();
        return ids;
    }

    Event next() throws InterruptedException {
        return events.take();
    }

    int completionTokens() {
        return completionTokens;
    }
}
