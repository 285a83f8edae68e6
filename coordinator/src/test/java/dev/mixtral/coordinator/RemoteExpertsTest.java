package dev.mixtral.coordinator;

import com.google.protobuf.UnsafeByteOperations;
import dev.mixtral.model.TestData;
import dev.mixtral.model.forward.ExpertBatch;
import dev.mixtral.model.forward.LocalExperts;
import dev.mixtral.model.tensor.GgmlType;
import dev.mixtral.model.tensor.PackedRows;
import dev.mixtral.model.weights.ModelFiles;
import dev.mixtral.proto.v1.ComputeRequest;
import dev.mixtral.proto.v1.ComputeResponse;
import dev.mixtral.proto.v1.DescribeRequest;
import dev.mixtral.proto.v1.ExpertRows;
import dev.mixtral.proto.v1.ExpertServiceGrpc;
import dev.mixtral.proto.v1.NodeDescription;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * RemoteExperts and NodeRegistry against real gRPC servers on loopback in this JVM (the multi-process
 * tests are in cli): fan-out gives LocalExperts' numbers, a stuck node fails at the deadline, a node
 * describing another model is refused.
 */
class RemoteExpertsTest {
    /** Short, for the stuck node; healthy calls get a generous one so a cold, busy machine cannot fail them. */
    static final Duration STUCK_DEADLINE = Duration.ofMillis(700);
    static final Duration HEALTHY_DEADLINE = Duration.ofSeconds(60);

    ModelFiles files;
    LocalExperts all;
    NodeRegistry registry;
    final List<Server> servers = new ArrayList<>();
    /** Every Compute request the test nodes received, in arrival order. */
    final List<ComputeRequest> received = new CopyOnWriteArrayList<>();
    /** Whether the test nodes refuse calls without rows (as an older node might). */
    volatile boolean refuseEmptyCalls;

    @BeforeEach
    void open() {
        files = ModelFiles.open(TestData.golden().resolve("tiny/mixtral-tiny-Q8_0.gguf"));
        all = LocalExperts.loadAll(files);
        registry = new NodeRegistry(files.fingerprint(), files.config(), 0); // warm-up has tests of its own
    }

    @AfterEach
    void close() {
        registry.close();
        servers.forEach(Server::shutdownNow);
        files.close();
    }

    /** A node serving {@code experts} with LocalExperts, or never answering Compute if {@code stuck}. */
    String node(String fingerprint, SortedSet<Integer> experts, boolean stuck) throws Exception {
        var service = new ExpertServiceGrpc.ExpertServiceImplBase() {
            @Override
            public void describe(DescribeRequest r, StreamObserver<NodeDescription> out) {
                out.onNext(NodeDescription.newBuilder().setModelFingerprint(fingerprint).addAllExperts(experts)
                        .setLayers(files.config().layers()).setDim(files.config().dim()).setTotalExperts(8).setNodeName("test").build());
                out.onCompleted();
            }

            @Override
            public void compute(ComputeRequest r, StreamObserver<ComputeResponse> out) {
                received.add(r);
                if (stuck) return;
                if (refuseEmptyCalls && r.getInputsList().stream().allMatch(in -> in.getRows() == 0)) {
                    out.onError(Status.INVALID_ARGUMENT.withDescription("no rows").asRuntimeException());
                    return;
                }
                ComputeResponse.Builder b = ComputeResponse.newBuilder();
                for (ExpertRows in : r.getInputsList()) {
                    int n = in.getRows() * files.config().dim();
                    float[] y = all.compute(r.getLayer(), in.getExpert(), PackedRows.unpack(in.getData().asReadOnlyByteBuffer(), GgmlType.F32, n), in.getRows());
                    b.addOutputs(in.toBuilder().setData(UnsafeByteOperations.unsafeWrap(PackedRows.pack(y, GgmlType.F32))));
                }
                out.onNext(b.build());
                out.onCompleted();
            }
        };
        Server s = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).addService(service).build().start();
        servers.add(s);
        return "127.0.0.1:" + s.getPort();
    }

    RemoteExperts remote() {
        return remote(HEALTHY_DEADLINE);
    }

    RemoteExperts remote(Duration deadline) {
        return new RemoteExperts(registry, files.fingerprint(), files.config().dim(), deadline, GgmlType.F32);
    }

    static SortedSet<Integer> range(int from, int to) {
        SortedSet<Integer> s = new TreeSet<>();
        for (int e = from; e <= to; e++) s.add(e);
        return s;
    }

    ExpertBatch batch(int... experts) {
        Random r = new Random(9);
        int dim = files.config().dim();
        int[] rows = new int[experts.length];
        float[][] x = new float[experts.length][];
        for (int i = 0; i < experts.length; i++) {
            rows[i] = 1 + i;
            x[i] = new float[rows[i] * dim];
            for (int j = 0; j < x[i].length; j++) x[i][j] = (float) r.nextGaussian();
        }
        return new ExpertBatch(1, experts, rows, x);
    }

    @Test
    void fanOutGivesLocalResultsInBatchOrder() throws Exception {
        registry.nodeUp(new NodeRegistry.Member("a", node(files.fingerprint(), range(0, 3), false), files.fingerprint(), "0-3"));
        registry.nodeUp(new NodeRegistry.Member("b", node(files.fingerprint(), range(4, 7), false), null, null));
        registry.awaitCoverage(Duration.ofSeconds(10));
        ExpertBatch b = batch(6, 1, 7, 2);
        RemoteExperts executor = remote();
        float[][] remote = executor.compute(b);
        float[][] local = all.compute(b);
        for (int i = 0; i < local.length; i++) assertThat(remote[i]).containsExactly(local[i]);
        FanOutStats.Snapshot s = executor.stats().snapshot();
        assertThat(s.layerCalls()).isEqualTo(1);
        assertThat(s.nodeCalls()).as("experts 1, 2 on node a; 6, 7 on node b").isEqualTo(2);
        assertThat(s.bytesSent()).isPositive();
        assertThat(s.bytesReceived()).isPositive();
        assertThat(remote().stats().snapshot().layerCalls()).as("stats are per executor").isZero();
    }

    @Test
    void aStuckNodeFailsAtTheDeadlineNamingLayerExpertsAndNode() throws Exception {
        String stuck = node(files.fingerprint(), range(4, 7), true);
        registry.nodeUp(new NodeRegistry.Member("a", node(files.fingerprint(), range(0, 3), false), null, null));
        registry.nodeUp(new NodeRegistry.Member("b", stuck, null, null));
        registry.awaitCoverage(Duration.ofSeconds(10));
        assertThatThrownBy(() -> remote(STUCK_DEADLINE).compute(batch(6, 1, 7)))
                .isInstanceOfSatisfying(ExpertUnavailableException.class, e -> {
                    assertThat(e.layer()).isEqualTo(1);
                    assertThat(e.experts()).containsExactly(6, 7);
                    assertThat(e.node()).isEqualTo(stuck);
                    assertThat(e.getMessage()).isEqualTo("layer 1: experts [6, 7] failed on expert node " + stuck
                            + " (test): no answer within the call deadline of 700 ms");
                });
    }

    @Test
    void whenAFailedNodesExpertsAreOnlyPartlyReplicatedTheErrorNamesJustTheOnesLeftWithoutAHolder() throws Exception {
        String dead = node(files.fingerprint(), range(0, 7), false);
        Server deadServer = servers.getLast();
        registry.nodeUp(new NodeRegistry.Member("a", dead, null, null));
        registry.nodeUp(new NodeRegistry.Member("b", node(files.fingerprint(), range(0, 3), false), null, null));
        await().atMost(Duration.ofSeconds(10)).until(() -> registry.table().nodes().size() == 2);
        deadServer.shutdownNow().awaitTermination();
        // of experts 2 and 3 (on both nodes), one is routed to the dead node whatever the table's order; expert 6 is on it alone
        assertThatThrownBy(() -> remote().compute(batch(2, 3, 6)))
                .isInstanceOfSatisfying(ExpertUnavailableException.class, e -> {
                    assertThat(e.experts()).as(e.getMessage()).containsExactly(6);
                    assertThat(e.node()).isEqualTo(dead);
                    assertThat(e.getMessage()).isEqualTo("layer 1: experts [6] have no live holder left after expert node " + dead + " failed");
                    assertThat(e.getCause()).hasMessageMatching("layer 1: experts \\[[23], 6] failed on expert node " + dead + " .*");
                });
    }

    @Test
    void nodesOfAnotherModelAreRefusedAndCoverageWaitNamesMissingExperts() throws Exception {
        registry.nodeUp(new NodeRegistry.Member("a", node(files.fingerprint(), range(0, 3), false), null, null));
        registry.nodeUp(new NodeRegistry.Member("b", node("0000other", range(4, 7), false), "0000other", "4-7"));
        registry.nodeUp(new NodeRegistry.Member("c", node("0000other", range(4, 7), false), null, null)); // found out by Describe
        await().atMost(Duration.ofSeconds(10)).until(() -> registry.refused().size() == 2);
        assertThat(registry.refused()).allSatisfy(r -> assertThat(r).contains("fingerprint").contains("0000other"));
        assertThatThrownBy(() -> registry.awaitCoverage(Duration.ofMillis(300)))
                .isInstanceOf(ExpertUnavailableException.class)
                .hasMessageStartingWith("experts [4, 5, 6, 7] of 8 are not covered by any expert node after 0s");
        assertThatThrownBy(() -> remote().compute(batch(5)))
                .isInstanceOf(ExpertUnavailableException.class)
                .hasMessageStartingWith("layer 1: experts [5] are not covered by any live expert node");
        registry.nodeGone("a", "left");
        await().atMost(Duration.ofSeconds(5)).until(() -> registry.missing().size() == 8);
    }

    @Test
    void aJoiningNodeIsWarmedWithEmptyCallsBeforeItIsRoutedTo() throws Exception {
        try (NodeRegistry warming = new NodeRegistry(files.fingerprint(), files.config(), 50)) {
            String address = node(files.fingerprint(), range(0, 7), false);
            warming.nodeUp(new NodeRegistry.Member("a", address, null, null));
            warming.awaitCoverage(Duration.ofSeconds(20));
            // routed to only once the 50th warm-up call was answered, and nothing else was sent yet
            assertThat(received).hasSize(50);
            assertThat(received).allSatisfy(r -> {
                assertThat(r.getModelFingerprint()).isEqualTo(files.fingerprint());
                assertThat(r.getInputsList()).hasSize(2).allSatisfy(in -> {
                    assertThat(in.getRows()).isZero();
                    assertThat(in.getData().isEmpty()).isTrue();
                });
            });
            assertThat(received.stream().map(ComputeRequest::getLayer).distinct().sorted().toList())
                    .isEqualTo(java.util.stream.IntStream.range(0, files.config().layers()).boxed().toList());
            ExpertBatch b = batch(6, 1);
            float[][] remote = new RemoteExperts(warming, files.fingerprint(), files.config().dim(), HEALTHY_DEADLINE, GgmlType.F32).compute(b);
            float[][] local = all.compute(b);
            for (int i = 0; i < local.length; i++) assertThat(remote[i]).containsExactly(local[i]);
            assertThat(received).hasSize(51);
        }
    }

    @Test
    void aNodeThatRefusesTheWarmUpIsStillUsed() throws Exception {
        refuseEmptyCalls = true;
        try (NodeRegistry warming = new NodeRegistry(files.fingerprint(), files.config(), 50)) {
            warming.nodeUp(new NodeRegistry.Member("a", node(files.fingerprint(), range(0, 7), false), null, null));
            warming.awaitCoverage(Duration.ofSeconds(20));
            assertThat(received).hasSizeLessThanOrEqualTo(ConnectionWarmUp.IN_FLIGHT); // stopped at the first refusal
            ExpertBatch b = batch(3);
            float[][] remote = new RemoteExperts(warming, files.fingerprint(), files.config().dim(), HEALTHY_DEADLINE, GgmlType.F32).compute(b);
            assertThat(remote[0]).containsExactly(all.compute(b)[0]);
        }
    }
}
