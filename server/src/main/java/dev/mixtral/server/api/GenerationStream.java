package dev.mixtral.server.api;

import dev.mixtral.model.generate.StopStrings;
import dev.mixtral.model.generate.FinishReason;
import dev.mixtral.model.generate.TokenSink;
import dev.mixtral.model.tokenizer.StreamingDecoder;

import java.util.List;
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
    private final StreamingDecoder decoder;
    private final StopStrings stops;
    private final ServerMetrics metrics;
    private final long startNanos;
    private long lastTokenNanos;
    private volatile int completionTokens;
    private final java.util.List<Integer> unsent = new java.util.ArrayList<>();

    GenerationStream(StreamingDecoder decoder, List<String> stops, ServerMetrics metrics, long startNanos) {
        this.decoder = decoder;
        this.stops = new StopStrings(stops);
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
        String text = stops.accept(decoder.accept(token));
        if (!text.isEmpty()) events.add(new Text(text, drainUnsent()));
        return !stops.stopped();
    }

    @Override
    public void onFinish(FinishReason reason) {
        String rest = stops.accept(decoder.finish()) + stops.flush();
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
