package dev.mixtral.node;

import com.google.protobuf.ByteString;
import dev.mixtral.model.TestData;
import dev.mixtral.model.forward.LocalExperts;
import dev.mixtral.model.tensor.GgmlType;
import dev.mixtral.model.tensor.PackedRows;
import dev.mixtral.model.weights.ModelFiles;
import dev.mixtral.proto.v1.ComputeRequest;
import dev.mixtral.proto.v1.ComputeResponse;
import dev.mixtral.proto.v1.DescribeRequest;
import dev.mixtral.proto.v1.ExpertRows;
import dev.mixtral.proto.v1.ExpertServiceGrpc;
import dev.mixtral.proto.v1.LoadExpertRequest;
import dev.mixtral.proto.v1.NodeDescription;
import dev.mixtral.proto.v1.UnloadExpertRequest;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.Random;
import java.util.Set;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** LoadExpert and UnloadExpert: an extra expert is mapped while serving, computes the same bits, is bounded and unmapped again. */
class ExtraExpertsTest {
    ModelFiles files;
    NodeExperts experts;
    Server server;
    ManagedChannel channel;
    ExpertServiceGrpc.ExpertServiceBlockingStub stub;

    @BeforeEach
    void start() throws Exception {
        files = ModelFiles.open(TestData.golden().resolve("tiny/mixtral-tiny-Q8_0.gguf"));
        experts = new NodeExperts(files, LocalExperts.load(files, new TreeSet<>(Set.of(1, 5))), 1);
        String name = InProcessServerBuilder.generateName();
        server = InProcessServerBuilder.forName(name)
                .addService(new ExpertServiceImpl(experts, files.config(), files.fingerprint(), "test", new NodeStats(files.config().experts())))
                .build().start();
        channel = InProcessChannelBuilder.forName(name).build();
        stub = ExpertServiceGrpc.newBlockingStub(channel);
    }

    @AfterEach
    void stop() {
        channel.shutdownNow();
        server.shutdownNow();
        experts.closeExtras();
        files.close();
    }

    NodeDescription load(int expert) {
        return stub.loadExpert(LoadExpertRequest.newBuilder().setModelFingerprint(files.fingerprint()).setExpert(expert).build());
    }

    NodeDescription unload(int expert) {
        return stub.unloadExpert(UnloadExpertRequest.newBuilder().setModelFingerprint(files.fingerprint()).setExpert(expert).build());
    }

    float[] compute(int layer, int expert, float[] x) {
        int dim = files.config().dim();
        ComputeResponse r = stub.compute(ComputeRequest.newBuilder().setLayer(layer).addInputs(ExpertRows.newBuilder()
                .setExpert(expert).setRows(x.length / dim).setData(ByteString.copyFrom(PackedRows.pack(x, GgmlType.F32)))).build());
        return PackedRows.unpack(r.getOutputs(0).getData().asReadOnlyByteBuffer(), GgmlType.F32, x.length);
    }

    @Test
    void anExtraExpertIsMappedServedBitIdenticallyAndUnmapped() {
        NodeDescription before = stub.describe(DescribeRequest.getDefaultInstance());
        assertThat(before.getMaxExtraExperts()).isEqualTo(1);
        assertThat(before.getExtraExpertsList()).isEmpty();

        NodeDescription loaded = load(3);
        assertThat(loaded.getExpertsList()).containsExactly(1, 3, 5);
        assertThat(loaded.getExtraExpertsList()).containsExactly(3);
        // exactly one more expert's bytes (of each layer): the same as the placement maps per expert
        assertThat(loaded.getMappedBytes() - before.getMappedBytes()).isEqualTo(before.getMappedBytes() / 2);

        float[] x = new float[3 * files.config().dim()];
        Random r = new Random(7);
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        try (ModelFiles all = ModelFiles.open(files.path())) {
            LocalExperts reference = LocalExperts.loadAll(all);
            for (int layer = 0; layer < files.config().layers(); layer++) {
                assertThat(compute(layer, 3, x)).containsExactly(reference.compute(layer, 3, x, 3));
                assertThat(compute(layer, 5, x)).containsExactly(reference.compute(layer, 5, x, 3));
            }
        }

        NodeDescription unloaded = unload(3);
        assertThat(unloaded.getExpertsList()).containsExactly(1, 5);
        assertThat(unloaded.getMappedBytes()).isEqualTo(before.getMappedBytes());
        assertThatThrownBy(() -> compute(0, 3, x)).isInstanceOfSatisfying(StatusRuntimeException.class,
                e -> assertThat(e.getStatus().getDescription()).contains("expert 3 of layer 0 is not held here"));
    }

    @Test
    void unloadingWhileComputingNeverUnmapsUnderAComputation() throws Exception {
        int dim = files.config().dim();
        float[] x = new float[2 * dim];
        java.util.Arrays.fill(x, 0.25f);
        float[] expected;
        try (ModelFiles all = ModelFiles.open(files.path())) {
            expected = LocalExperts.loadAll(all).compute(1, 3, x, 2);
        }
        var batch = new dev.mixtral.model.forward.ExpertBatch(1, new int[] {5, 3}, new int[] {2, 2}, new float[][] {x, x});
        java.util.concurrent.atomic.AtomicInteger computed = new java.util.concurrent.atomic.AtomicInteger(), refused = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.atomic.AtomicReference<Throwable> failure = new java.util.concurrent.atomic.AtomicReference<>();
        Thread computing = Thread.ofPlatform().start(() -> {
            try {
                while (!done.get()) {
                    try {
                        assertThat(experts.compute(batch)[1]).containsExactly(expected);
                        computed.incrementAndGet();
                    } catch (IllegalArgumentException notHeld) { // between an unload and the next load: a clear refusal
                        assertThat(notHeld).hasMessageContaining("expert 3 of layer 1 is not held here");
                        refused.incrementAndGet();
                    }
                }
            } catch (Throwable t) { // e.g. a segment unmapped under the computation
                failure.set(t);
            }
        });
        try {
            for (int i = 0; i < 40; i++) {
                experts.load(3);
                Thread.sleep(1);
                experts.unload(3);
            }
        } finally {
            done.set(true);
            computing.join(30_000);
        }
        assertThat(computing.isAlive()).isFalse();
        assertThat(failure.get()).isNull();
        assertThat(computed.get() + refused.get()).isPositive();
        assertThat(experts.extras()).isEmpty();
    }

    @Test
    void refusesBeyondItsBoundAndNamesTheLimit() {
        load(3);
        assertThatThrownBy(() -> load(4)).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
            assertThat(e.getStatus().getDescription()).contains("already holds 1 extra experts [3]", "--max-extra-experts 1", "cannot load expert 4");
        });
        // an expert of the placement costs nothing, and is not an extra
        assertThat(load(5).getExtraExpertsList()).containsExactly(3);
    }

    @Test
    void loadsAreCountedSoTwoCoordinatorsCanShareAnExtraExpert() {
        load(3);
        load(3);
        assertThat(unload(3).getExtraExpertsList()).containsExactly(3);
        assertThat(unload(3).getExtraExpertsList()).isEmpty();
    }

    @Test
    void refusesToUnloadItsPlacementOrWhatItDoesNotHoldAndUnknownExperts() {
        assertThatThrownBy(() -> unload(5)).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
            assertThat(e.getStatus().getDescription()).contains("expert 5 is part of this node's placement");
        });
        assertThatThrownBy(() -> unload(2)).isInstanceOfSatisfying(StatusRuntimeException.class,
                e -> assertThat(e.getStatus().getDescription()).contains("expert 2 is not loaded here as an extra expert"));
        assertThatThrownBy(() -> load(8)).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
            assertThat(e.getStatus().getDescription()).contains("expert 8 does not exist");
        });
        assertThatThrownBy(() -> stub.loadExpert(LoadExpertRequest.newBuilder().setModelFingerprint("0123").setExpert(3).build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION));
    }
}
