package dev.mixtral.coordinator;

import java.util.concurrent.atomic.AtomicLong;

/**
 * What the remote experts cost: layer calls, node calls, bytes on the wire (protobuf message sizes,
 * without HTTP/2 and TCP framing), time from fan-out to the last answer, and the slowest node's own
 * compute time per layer call (the difference is the fan-out's overhead).
 */
public final class FanOutStats {
    private final AtomicLong layerCalls = new AtomicLong();
    private final AtomicLong nodeCalls = new AtomicLong();
    private final AtomicLong bytesSent = new AtomicLong();
    private final AtomicLong bytesReceived = new AtomicLong();
    private final AtomicLong wallNanos = new AtomicLong();
    private final AtomicLong slowestComputeNanos = new AtomicLong();
    private final AtomicLong failedOver = new AtomicLong();
    private final AtomicLong hedged = new AtomicLong();
    private final AtomicLong hedgeWins = new AtomicLong();

    public record Snapshot(long layerCalls, long nodeCalls, long bytesSent, long bytesReceived, long wallNanos,
                           long slowestComputeNanos) {
        /** Milliseconds per layer call spent outside the nodes' compute: serialization, transfer, scheduling. */
        public double overheadMsPerLayer() {
            return layerCalls == 0 ? 0 : (wallNanos - slowestComputeNanos) / 1e6 / layerCalls;
        }

        public double wallMsPerLayer() {
            return layerCalls == 0 ? 0 : wallNanos / 1e6 / layerCalls;
        }

        public Snapshot minus(Snapshot before) {
            return new Snapshot(layerCalls - before.layerCalls, nodeCalls - before.nodeCalls, bytesSent - before.bytesSent,
                    bytesReceived - before.bytesReceived, wallNanos - before.wallNanos, slowestComputeNanos - before.slowestComputeNanos);
        }
    }

    void record(int nodes, long sent, long received, long wall, long slowestCompute) {
        layerCalls.incrementAndGet();
        nodeCalls.addAndGet(nodes);
        bytesSent.addAndGet(sent);
        bytesReceived.addAndGet(received);
        wallNanos.addAndGet(wall);
        slowestComputeNanos.addAndGet(slowestCompute);
    }

    void failedOver(int experts) {
        failedOver.addAndGet(experts);
    }

    void hedged(int experts) {
        hedged.addAndGet(experts);
    }

    void hedgeWon() {
        hedgeWins.incrementAndGet();
    }

    /** Expert computations sent to a replica too because their node had not answered within the hedging budget. */
    public long hedges() {
        return hedged.get();
    }

    /** Hedged node calls whose replicas answered first. */
    public long hedgeWins() {
        return hedgeWins.get();
    }

    /** Expert computations that failed on a node and were answered by another replica. */
    public long failovers() {
        return failedOver.get();
    }

    public Snapshot snapshot() {
        return new Snapshot(layerCalls.get(), nodeCalls.get(), bytesSent.get(), bytesReceived.get(), wallNanos.get(),
                slowestComputeNanos.get());
    }
}
