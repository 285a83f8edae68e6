package dev.mixtral.coordinator;

import dev.mixtral.proto.v1.ComputeRequest;
import dev.mixtral.proto.v1.DType;
import dev.mixtral.proto.v1.ExpertRows;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SortedSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Warms a new node's Compute path before it is routed to: empty calls (every expert with 0 rows) go
 * through the same gRPC, HTTP/2 and protobuf code as real ones, on both sides, until the JIT has compiled
 * it. Measured on the layer-shape model: a cold path costs ~1.5 ms each way per layer call, a warm one
 * ~0.6 ms; only real traffic would otherwise warm it, thousands of layer calls later. The calls compute
 * nothing, so a few thousand take about a second.
 */
final class ConnectionWarmUp {
    /** Calls in flight at once: enough to keep both sides busy, few enough not to queue. */
    static final int IN_FLIGHT = 4;

    private ConnectionWarmUp() {}

    /** One empty request per layer, naming up to two of the node's experts (as a top-2 layer call does). */
    static List<ComputeRequest> probes(String fingerprint, int layers, SortedSet<Integer> experts) {
        List<ComputeRequest> probes = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            ComputeRequest.Builder r = ComputeRequest.newBuilder().setModelFingerprint(fingerprint).setLayer(l).setDtype(DType.DTYPE_F32);
            experts.stream().limit(2).forEach(e -> r.addInputs(ExpertRows.newBuilder().setExpert(e).setRows(0)));
            probes.add(r.build());
        }
        return probes;
    }

    /**
     * Sends {@code calls} of the probes, {@value #IN_FLIGHT} at a time. Completes with the number of calls
     * answered, or exceptionally with the first failure (after which no more are sent).
     */
    static CompletableFuture<Integer> run(NodeClient client, List<ComputeRequest> probes, int calls, Duration perCall) {
        Sender s = new Sender(client, probes, calls, perCall);
        if (calls <= 0 || probes.isEmpty()) s.done.complete(0);
        else for (int k = 0; k < Math.min(IN_FLIGHT, calls); k++) s.sendNext();
        return s.done;
    }

    /** Keeps {@value #IN_FLIGHT} calls going: each answer sends the next. */
    private record Sender(NodeClient client, List<ComputeRequest> probes, int calls, Duration perCall,
                          AtomicInteger sent, AtomicInteger answered, CompletableFuture<Integer> done) {
        Sender(NodeClient client, List<ComputeRequest> probes, int calls, Duration perCall) {
            this(client, probes, calls, perCall, new AtomicInteger(), new AtomicInteger(), new CompletableFuture<>());
        }

        void sendNext() {
            int i = sent.getAndIncrement();
            if (i >= calls || done.isDone()) return;
            client.compute(probes.get(i % probes.size()), perCall).whenComplete((r, error) -> {
                if (error != null) done.completeExceptionally(error);
                else if (answered.incrementAndGet() == calls) done.complete(calls);
                else sendNext();
            });
        }
    }
}
