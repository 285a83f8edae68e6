package dev.mixtral.model.forward;

/** The state of one sequence being generated: its KV cache and how many positions it holds. */
public final class Sequence {
    private final KvCache cache;
    private int length;

    public Sequence(KvCache cache) {
        this.cache = cache;
    }

    public KvCache cache() {
        return cache;
    }

    /** Number of tokens already processed (the position of the next token). */
    public int length() {
        return length;
    }

    void advance(int tokens) {
        length += tokens;
    }
}
