package dev.mixtral.coordinator;

import dev.mixtral.proto.v1.ComputeRequest;
import dev.mixtral.proto.v1.ComputeResponse;
import dev.mixtral.proto.v1.DescribeRequest;
import dev.mixtral.proto.v1.ExpertServiceGrpc;
import dev.mixtral.proto.v1.LoadExpertRequest;
import dev.mixtral.proto.v1.NodeDescription;
import dev.mixtral.proto.v1.UnloadExpertRequest;
import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** One expert node's ExpertService: asynchronous calls, each with a deadline. */
final class NodeClient implements AutoCloseable {
    private final String address;
    private final ManagedChannel channel;
    private final ExpertServiceGrpc.ExpertServiceStub stub;

    NodeClient(String address, dev.mixtral.cluster.tls.ClusterTls tls) {
        this.address = address;
        this.channel = Channels.open(address, tls);
        this.stub = ExpertServiceGrpc.newStub(channel);
    }

    String address() {
        return address;
    }

    CompletableFuture<NodeDescription> describe(Duration timeout) {
        CompletableFuture<NodeDescription> result = new CompletableFuture<>();
        stub.withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS).describe(DescribeRequest.getDefaultInstance(), completing(result));
        return result;
    }

    /** Asks the node to hold {@code expert} as an extra (see ExpertService.LoadExpert). */
    CompletableFuture<NodeDescription> loadExpert(String fingerprint, int expert, Duration timeout) {
        CompletableFuture<NodeDescription> result = new CompletableFuture<>();
        stub.withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS).loadExpert(
                LoadExpertRequest.newBuilder().setModelFingerprint(fingerprint).setExpert(expert).build(), completing(result));
        return result;
    }

    /** Undoes one {@link #loadExpert}. */
    CompletableFuture<NodeDescription> unloadExpert(String fingerprint, int expert, Duration timeout) {
        CompletableFuture<NodeDescription> result = new CompletableFuture<>();
        stub.withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS).unloadExpert(
                UnloadExpertRequest.newBuilder().setModelFingerprint(fingerprint).setExpert(expert).build(), completing(result));
        return result;
    }

    CompletableFuture<ComputeResponse> compute(ComputeRequest request, Duration timeout) {
        CompletableFuture<ComputeResponse> result = new CompletableFuture<>();
        stub.withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS).compute(request, completing(result));
        return result;
    }

    private static <T> StreamObserver<T> completing(CompletableFuture<T> result) {
        return new StreamObserver<>() {
            @Override public void onNext(T value) { result.complete(value); }
            @Override public void onError(Throwable t) { result.completeExceptionally(t); }
            @Override public void onCompleted() { }
        };
    }

    /** Takes no new calls but lets those in flight finish (each has a deadline), then closes the connection. */
    void drain() {
        channel.shutdown();
    }

    /** Cancels calls in flight (they fail at once, never hang) and closes the connection. */
    @Override
    public void close() {
        channel.shutdownNow();
    }
}
