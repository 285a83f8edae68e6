package dev.mixtral.model.generate;

import dev.mixtral.model.tokenizer.StreamingDecoder;

/**
 * One sequence's text as its tokens come: decoded whole characters at a time and cut at the first of
 * the stop policy's strings. Text that might begin a stop string is held back until the next token
 * shows whether it does. One per sequence; not thread-safe.
 */
public final class StopAwareText {
    private final StreamingDecoder decoder;
    private final StopStrings stops;

    public StopAwareText(StreamingDecoder decoder, StopPolicy stop) {
        this.decoder = decoder;
        this.stops = new StopStrings(stop.strings());
    }

    /** Adds a token; returns the text that is safe to show now (possibly empty). */
    public String accept(int token) {
        return stops.accept(decoder.accept(token));
    }

    /** True once a stop string appeared: the sequence should end. */
    public boolean stopped() {
        return stops.stopped();
    }

    /** The text still held back, once the sequence has ended. */
    public String finish() {
        return stops.accept(decoder.finish()) + stops.flush();
    }
}
