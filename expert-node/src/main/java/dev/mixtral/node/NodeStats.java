package dev.mixtral.node;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * What a node has done: calls in flight (its queue depth), calls served, compute time, token rows per
 * expert. Plain counters, ready to be exported as metrics.
 */
public final class NodeStats {
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicLong calls = new AtomicLong();
    private final AtomicLong computeNanos = new AtomicLong();
    private final AtomicLongArray rowsPerExpert;

    public NodeStats(int experts) {
        rowsPerExpert = new AtomicLongArray(experts);
    }

    void enter() {
        inFlight.incrementAndGet();
    }

    void exit() {
        inFlight.decrementAndGet();
        calls.incrementAndGet();
    }

    void computed(int[] experts, int[] rows, long nanos) {
        for (int i = 0; i < experts.length; i++) rowsPerExpert.addAndGet(experts[i], rows[i]);
        computeNanos.addAndGet(nanos);
    }

    public int inFlight() { return inFlight.get(); }
    public long calls() { return calls.get(); }
    public long computeNanos() { return computeNanos.get(); }
    public long rows(int expert) { return rowsPerExpert.get(expert); }
}
