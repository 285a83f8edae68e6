package dev.mixtral.node;

import com.google.protobuf.ByteString;
import dev.mixtral.model.TestData;
import dev.mixtral.model.forward.LocalExperts;
import dev.mixtral.model.tensor.GgmlType;
import dev.mixtral.model.tensor.PackedRows;
import dev.mixtral.model.weights.ModelFiles;
import dev.mixtral.proto.v1.ComputeRequest;
import dev.mixtral.proto.v1.ComputeResponse;
import dev.mixtral.proto.v1.DType;
import dev.mixtral.proto.v1.DescribeRequest;
import dev.mixtral.proto.v1.ExpertRows;
import dev.mixtral.proto.v1.ExpertServiceGrpc;
import dev.mixtral.proto.v1.NodeDescription;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The service over an in-process transport: same numbers as LocalExperts, clear errors. */
class ExpertServiceImplTest {
    static ModelFiles files;
    static LocalExperts held;
    static Server server;
    static ManagedChannel channel;
    static ExpertServiceGrpc.ExpertServiceBlockingStub stub;
    static int dim;

    @BeforeAll
    static void start() throws Exception {
        files = ModelFiles.open(TestData.golden().resolve("tiny/mixtral-tiny-Q8_0.gguf"));
        dim = files.config().dim();
        held = LocalExperts.load(files, new TreeSet<>(Set.of(1, 5)));
        var service = new ExpertServiceImpl(new NodeExperts(files, held, 0), files.config(), files.fingerprint(), "test",
                new NodeStats(files.config().experts()));
        String name = InProcessServerBuilder.generateName();
        server = InProcessServerBuilder.forName(name).addService(service).build().start();
        channel = InProcessChannelBuilder.forName(name).build();
        stub = ExpertServiceGrpc.newBlockingStub(channel);
    }

    @AfterAll
    static void stop() {
        channel.shutdownNow();
        server.shutdownNow();
        files.close();
    }

    static float[] rows(int n, long seed) {
        Random r = new Random(seed);
        float[] x = new float[n * dim];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        return x;
    }

    static ExpertRows input(int expert, float[] x, GgmlType type) {
        return ExpertRows.newBuilder().setExpert(expert).setRows(x.length / dim)
                .setData(ByteString.copyFrom(PackedRows.pack(x, type))).build();
    }

    @Test
    void computesBitIdenticalToLocalExpertsInRequestOrder() {
        float[] a = rows(3, 1), b = rows(1, 2);
        ComputeResponse r = stub.compute(ComputeRequest.newBuilder().setModelFingerprint(files.fingerprint())
                .setLayer(1).addInputs(input(5, a, GgmlType.F32)).addInputs(input(1, b, GgmlType.F32)).build());
        assertThat(r.getOutputsCount()).isEqualTo(2);
        assertThat(r.getOutputs(0).getExpert()).isEqualTo(5);
        assertThat(r.getOutputs(0).getRows()).isEqualTo(3);
        float[] out5 = PackedRows.unpack(r.getOutputs(0).getData().asReadOnlyByteBuffer(), GgmlType.F32, 3 * dim);
        float[] out1 = PackedRows.unpack(r.getOutputs(1).getData().asReadOnlyByteBuffer(), GgmlType.F32, dim);
        assertThat(out5).containsExactly(held.compute(1, 5, a, 3));
        assertThat(out1).containsExactly(held.compute(1, 1, b, 1));
        assertThat(r.getComputeNanos()).isPositive();
    }

    @Test
    void halfPrecisionWireRoundsInputsAndOutputs() {
        float[] a = rows(2, 3);
        ComputeResponse r = stub.compute(ComputeRequest.newBuilder().setLayer(0).setDtype(DType.DTYPE_BF16)
                .addInputs(input(1, a, GgmlType.BF16)).build());
        assertThat(r.getDtype()).isEqualTo(DType.DTYPE_BF16);
        float[] rounded = PackedRows.unpack(ByteBuffer.wrap(PackedRows.pack(a, GgmlType.BF16)), GgmlType.BF16, a.length);
        float[] expected = PackedRows.unpack(ByteBuffer.wrap(PackedRows.pack(held.compute(0, 1, rounded, 2), GgmlType.BF16)),
                GgmlType.BF16, a.length);
        assertThat(PackedRows.unpack(r.getOutputs(0).getData().asReadOnlyByteBuffer(), GgmlType.BF16, a.length)).containsExactly(expected);
    }

    @Test
    void describesWhatItHolds() {
        NodeDescription d = stub.describe(DescribeRequest.getDefaultInstance());
        assertThat(d.getModelFingerprint()).isEqualTo(files.fingerprint());
        assertThat(d.getExpertsList()).containsExactly(1, 5);
        assertThat(d.getLayers()).isEqualTo(2);
        assertThat(d.getDim()).isEqualTo(64);
        assertThat(d.getTotalExperts()).isEqualTo(8);
        assertThat(d.getMappedBytes()).isPositive();
    }

    @Test
    void refusesOtherModelsMissingExpertsAndBadSizes() {
        assertThatThrownBy(() -> stub.compute(ComputeRequest.newBuilder().setModelFingerprint("0123")
                .setLayer(0).addInputs(input(1, rows(1, 4), GgmlType.F32)).build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
                    assertThat(e.getStatus().getDescription()).contains("fingerprint 0123 differs");
                });
        assertThatThrownBy(() -> stub.compute(ComputeRequest.newBuilder().setLayer(0)
                .addInputs(input(2, rows(1, 4), GgmlType.F32)).build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                    assertThat(e.getStatus().getDescription()).contains("expert 2 of layer 0 is not held here");
                });
        assertThatThrownBy(() -> stub.compute(ComputeRequest.newBuilder().setLayer(0)
                .addInputs(input(1, rows(1, 4), GgmlType.F32).toBuilder().setRows(2)).build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e ->
                        assertThat(e.getStatus().getDescription()).contains("expert 1, 2 rows of dim 64: expected 512 bytes"));
        assertThatThrownBy(() -> stub.compute(ComputeRequest.newBuilder().setLayer(9)
                .addInputs(input(1, rows(1, 4), GgmlType.F32)).build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e ->
                        assertThat(e.getStatus().getDescription()).contains("layer 9 out of range"));
    }
}
