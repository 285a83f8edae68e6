package dev.mixtral.coordinator;

import com.google.protobuf.UnsafeByteOperations;
import dev.mixtral.cluster.WireFormat;
import dev.mixtral.model.forward.ExpertBatch;
import dev.mixtral.model.forward.ExpertExecutor;
import dev.mixtral.model.tensor.GgmlType;
import dev.mixtral.model.tensor.PackedRows;
import dev.mixtral.proto.v1.ComputeRequest;
import dev.mixtral.proto.v1.ComputeResponse;
import dev.mixtral.proto.v1.DType;
import dev.mixtral.proto.v1.ExpertRows;
import io.grpc.Status;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Experts on remote nodes, behind the forward pass's seam. Per layer: the batch's experts are grouped
 * by the node the routing table chooses for each, one Compute call per node goes out (all at once,
 * each with a deadline), and the outputs come back in the batch's order. The weighted combination
 * stays in the Transformer, so with F32 on the wire the result is bit-identical to one process.
 *
 * <p>Nodes are stateless, so a failed call could be re-planned on the remaining replicas: that is
 * the place for failover ({@link #compute} → {@link #plan} without the failed node).
 */
public final class RemoteExperts implements ExpertExecutor {
    private final NodeRegistry registry;
    private final String fingerprint;
    private final int dim;
    private final Duration callTimeout;
    private final GgmlType wireType;
    private final DType wireDType;
    private final FanOutStats stats = new FanOutStats();
    private final Hedging hedging;
    private final ExpertLoad load;
    private volatile CallObserver observer = (node, nanos, ok) -> {};

    /** Told of every node call as it ends: which node, how long, whether it succeeded (for metrics). */
    @FunctionalInterface
    public interface CallObserver {
        void nodeCall(String nodeAddress, long nanos, boolean ok);
    }

    public void observe(CallObserver observer) {
        this.observer = observer;
    }

    RemoteExperts(NodeRegistry registry, String fingerprint, int dim, Duration callTimeout, GgmlType wireType) {
        this(registry, fingerprint, dim, callTimeout, wireType, Hedging.Policy.DEFAULT);
    }

    RemoteExperts(NodeRegistry registry, String fingerprint, int dim, Duration callTimeout, GgmlType wireType, Hedging.Policy hedging) {
        this.registry = registry;
        this.hedging = new Hedging(hedging);
        this.load = new ExpertLoad(registry.layers(), registry.experts());
        this.fingerprint = fingerprint;
        this.dim = dim;
        this.callTimeout = callTimeout;
        this.wireType = wireType;
        this.wireDType = WireFormat.dtype(wireType);
    }

    public FanOutStats stats() {
        return stats;
    }

    /** Tokens per node and per expert over the last seconds, where they were computed. */
    public ExpertLoad load() {
        return load;
    }

    /** Balancedness of the nodes serving now (see {@link ExpertLoad#balancedness}). */
    public double balancedness() {
        return load.balancedness(registry.table().nodes().stream().map(RemoteNode::address).toList());
    }

    /** One node's share of a layer's batch: the batch indices of the experts it computes. */
    private record NodeCall(RemoteNode node, List<Integer> indices, CompletableFuture<ComputeResponse> response) {}

    /**
     * Fans the batch out, one call per node, all at once. Nodes are stateless, so experts whose node
     * fails are re-planned on their other replicas (each failed node excluded for the rest of this
     * call) until every expert has an answer or one has no live holder left: a node dying mid-generation
     * costs a retry, not the request, when its experts are replicated. The answer is the same
     * whichever replica computes it.
     */
    @Override
    public float[][] compute(ExpertBatch batch) {
        long start = System.nanoTime();
        float[][] outputs = new float[batch.experts().length][];
        long sent = 0, received = 0, slowest = 0;
        int nodeCalls = 0;
        RoutingTable table = registry.table();
        List<Integer> pending = new ArrayList<>();
        for (int i = 0; i < outputs.length; i++) pending.add(i);
        ExpertUnavailableException failure = null;
        while (!pending.isEmpty()) {
            Map<RemoteNode, List<Integer>> plan;
            try {
                plan = plan(table, batch, pending);
            } catch (ExpertUnavailableException uncovered) {
                if (failure == null) throw uncovered;
                throw noHolderLeft(uncovered, failure);
            }
            List<NodeCall> calls = new ArrayList<>(plan.size());
            for (Map.Entry<RemoteNode, List<Integer>> e : plan.entrySet()) {
                ComputeRequest request = request(batch, e.getValue());
                sent += request.getSerializedSize();
                calls.add(send(e.getKey(), e.getValue(), request));
            }
            nodeCalls += calls.size();
            List<Integer> retry = new ArrayList<>();
            long budget = hedging.budgetNanos();
            long hedgeAt = budget == Long.MAX_VALUE ? Long.MAX_VALUE : System.nanoTime() + budget;
            for (NodeCall call : calls) {
                try {
                    for (Answer a : awaitHedged(batch, call, table, hedgeAt)) {
                        received += a.response().getSerializedSize();
                        slowest = Math.max(slowest, a.response().getComputeNanos());
                        unpack(batch, a.call(), a.response(), outputs);
                        for (int i : a.call().indices()) load.record(a.call().node().address(), batch.layer(), batch.experts()[i], batch.rows()[i]);
                    }
                } catch (ExpertUnavailableException e) {
                    if (failure == null) failure = e; else failure.addSuppressed(e);
                    table = table.without(call.node().id());
                    retry.addAll(call.indices());
                }
            }
            pending = retry;
        }
        if (failure != null) stats.failedOver(failure.experts().size());
        stats.record(nodeCalls, sent, received, System.nanoTime() - start, slowest);
        return outputs;
    }

    private NodeCall send(RemoteNode node, List<Integer> indices, ComputeRequest request) {
        long sentAt = System.nanoTime();
        CompletableFuture<ComputeResponse> response = node.client().compute(request, callTimeout);
        response.whenComplete((r, error) -> {
            long nanos = System.nanoTime() - sentAt;
            observer.nodeCall(node.address(), nanos, error == null);
            if (error == null) hedging.observe(nanos);
            else registry.suspect(node, describe(error instanceof ExecutionException ? error.getCause() : error)); // on the first failure, not the failure detector's
        });
        return new NodeCall(node, indices, response);
    }

    /** Answers covering one node call's experts: its own, or those of the replicas it was hedged to. */
    private record Answer(NodeCall call, ComputeResponse response) {}

    /**
     * Waits for {@code call} until {@code hedgeAt}; if it has not answered by then, sends its experts to
     * their other holders too and takes whichever complete answer comes first (the same bits either
     * way). Without another holder it simply waits for the call's deadline.
     */
    private List<Answer> awaitHedged(ExpertBatch batch, NodeCall call, RoutingTable table, long hedgeAt) {
        if (hedgeAt == Long.MAX_VALUE) return List.of(new Answer(call, await(batch, call)));
        long budget = hedgeAt - System.nanoTime();
        if (budget > 0) {
            try {
                return List.of(new Answer(call, call.response().get(budget, TimeUnit.NANOSECONDS)));
            } catch (TimeoutException e) {
                // hedge below
            } catch (ExecutionException e) {
                throw unavailable(batch, call, describe(e.getCause()), e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw unavailable(batch, call, "interrupted", e);
            }
        }
        Map<RemoteNode, List<Integer>> plan;
        try {
            plan = call.response().isDone() ? null : plan(table.without(call.node().id()), batch, call.indices());
        } catch (ExpertUnavailableException noReplica) {
            plan = null;
        }
        if (plan == null) { // answered meanwhile, or no other holder: wait for its own deadline
            return List.of(new Answer(call, await(batch, call)));
        }
        stats.hedged(call.indices().size());
        List<CompletableFuture<Answer>> hedges = new ArrayList<>();
        for (Map.Entry<RemoteNode, List<Integer>> e : plan.entrySet()) {
            NodeCall h = send(e.getKey(), e.getValue(), request(batch, e.getValue()));
            hedges.add(h.response().thenApply(r -> new Answer(h, r)));
        }
        CompletableFuture<List<Answer>> hedged = CompletableFuture.allOf(hedges.toArray(CompletableFuture[]::new))
                .thenApply(v -> hedges.stream().map(CompletableFuture::join).toList());
        CompletableFuture<List<Answer>> first = firstSuccess(call.response().thenApply(r -> List.of(new Answer(call, r))), hedged);
        try {
            List<Answer> answers = first.get(callTimeout.toMillis() + 1000, TimeUnit.MILLISECONDS);
            if (answers.getFirst().call() != call) stats.hedgeWon();
            return answers;
        } catch (ExecutionException e) {
            throw unavailable(batch, call, describe(e.getCause()) + " (and its hedge to a replica failed too)", e.getCause());
        } catch (TimeoutException e) {
            throw unavailable(batch, call, "no answer within " + callTimeout.toMillis() + " ms, nor from its replicas", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw unavailable(batch, call, "interrupted", e);
        }
    }

    /** The first of the two to succeed; fails (with {@code a}'s error) only when both fail. */
    private static <T> CompletableFuture<T> firstSuccess(CompletableFuture<T> a, CompletableFuture<T> b) {
        CompletableFuture<T> first = new CompletableFuture<>();
        java.util.concurrent.atomic.AtomicInteger failed = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicReference<Throwable> aError = new java.util.concurrent.atomic.AtomicReference<>();
        a.whenComplete((r, e) -> {
            if (e == null) first.complete(r);
            else {
                aError.set(e);
                if (failed.incrementAndGet() == 2) first.completeExceptionally(e);
            }
        });
        b.whenComplete((r, e) -> {
            if (e == null) first.complete(r);
            else if (failed.incrementAndGet() == 2) first.completeExceptionally(aError.get() != null ? aError.get() : e);
        });
        return first;
    }

    /** Chooses a node for each pending expert of the batch and groups them by node, in first-use order. */
    private static Map<RemoteNode, List<Integer>> plan(RoutingTable table, ExpertBatch batch, List<Integer> pending) {
        Map<RemoteNode, List<Integer>> plan = new LinkedHashMap<>();
        SortedSet<Integer> uncovered = new TreeSet<>();
        for (int i : pending) {
            RemoteNode node = table.choose(batch.layer(), batch.experts()[i]);
            if (node == null) uncovered.add(batch.experts()[i]);
            else plan.computeIfAbsent(node, n -> new ArrayList<>()).add(i);
        }
        if (!uncovered.isEmpty()) {
            throw new ExpertUnavailableException(batch.layer(), uncovered, null, "layer " + batch.layer() + ": experts "
                    + uncovered + " are not covered by any live expert node (" + table.summary() + ")", null);
        }
        return plan;
    }

    private ComputeRequest request(ExpertBatch batch, List<Integer> indices) {
        ComputeRequest.Builder r = ComputeRequest.newBuilder()
                .setModelFingerprint(fingerprint).setLayer(batch.layer()).setDtype(wireDType);
        for (int i : indices) {
            r.addInputs(ExpertRows.newBuilder().setExpert(batch.experts()[i]).setRows(batch.rows()[i])
                    // the packed array is ours alone: wrap it instead of copying
                    .setData(UnsafeByteOperations.unsafeWrap(PackedRows.pack(batch.inputs()[i], wireType))));
        }
        return r.build();
    }

    private ComputeResponse await(ExpertBatch batch, NodeCall call) {
        try {
            // the call's deadline ends it; the extra second only guards against a transport that never reports
            return call.response().get(callTimeout.toMillis() + 1000, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw unavailable(batch, call, describe(e.getCause()), e.getCause());
        } catch (TimeoutException e) {
            call.response().cancel(true);
            throw unavailable(batch, call, "no answer within " + callTimeout.toMillis() + " ms", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw unavailable(batch, call, "interrupted", e);
        }
    }

    private String describe(Throwable t) {
        Status s = Status.fromThrowable(t);
        return switch (s.getCode()) {
            case DEADLINE_EXCEEDED -> "no answer within the call deadline of " + callTimeout.toMillis() + " ms";
            case UNAVAILABLE -> "node unreachable (" + s.getDescription() + ")";
            case CANCELLED -> "call cancelled: the node left the cluster or became unreachable";
            case UNKNOWN -> "connection lost (" + s.getDescription() + ")";
            default -> s.getCode() + (s.getDescription() != null ? ": " + s.getDescription() : "");
        };
    }

    private void unpack(ExpertBatch batch, NodeCall call, ComputeResponse response, float[][] outputs) {
        if (response.getOutputsCount() != call.indices().size()) {
            throw unavailable(batch, call, "answered " + response.getOutputsCount() + " outputs for " + call.indices().size() + " experts", null);
        }
        for (int j = 0; j < call.indices().size(); j++) {
            int i = call.indices().get(j);
            ExpertRows out = response.getOutputs(j);
            if (out.getExpert() != batch.experts()[i] || out.getRows() != batch.rows()[i]) {
                throw unavailable(batch, call, "answered expert " + out.getExpert() + " × " + out.getRows() + " rows where expert "
                        + batch.experts()[i] + " × " + batch.rows()[i] + " was asked", null);
            }
            try {
                outputs[i] = PackedRows.unpack(out.getData().asReadOnlyByteBuffer(), wireType, batch.rows()[i] * dim);
            } catch (IllegalArgumentException e) {
                throw unavailable(batch, call, "bad output of expert " + out.getExpert() + ": " + e.getMessage(), e);
            }
        }
    }

    /**
     * Names exactly the experts left without a live holder after {@code failure}: a failed call's other
     * experts may have been answered by their replicas, and naming those too would send an operator after
     * experts that are not missing. When they are the same experts, the failure itself says it best.
     */
    private static ExpertUnavailableException noHolderLeft(ExpertUnavailableException uncovered, ExpertUnavailableException failure) {
        if (uncovered.experts().equals(failure.experts())) {
            failure.addSuppressed(uncovered);
            return failure;
        }
        return new ExpertUnavailableException(uncovered.layer(), uncovered.experts(), failure.node(), "layer " + uncovered.layer()
                + ": experts " + uncovered.experts() + " have no live holder left after expert node " + failure.node() + " failed", failure);
    }

    private static ExpertUnavailableException unavailable(ExpertBatch batch, NodeCall call, String why, Throwable cause) {
        SortedSet<Integer> experts = new TreeSet<>();
        for (int i : call.indices()) experts.add(batch.experts()[i]);
        return new ExpertUnavailableException(batch.layer(), experts, call.node().address(), "layer " + batch.layer()
                + ": experts " + experts + " failed on expert node " + call.node() + ": " + why, cause);
    }
}
