package dev.mixtral.node;

import com.google.protobuf.UnsafeByteOperations;
import dev.mixtral.model.ModelConfig;
import dev.mixtral.model.forward.ExpertBatch;
import dev.mixtral.model.forward.LocalExperts;
import dev.mixtral.cluster.WireFormat;
import dev.mixtral.model.tensor.GgmlType;
import dev.mixtral.model.tensor.PackedRows;
import dev.mixtral.proto.v1.ComputeRequest;
import dev.mixtral.proto.v1.ComputeResponse;
import dev.mixtral.proto.v1.DescribeRequest;
import dev.mixtral.proto.v1.ExpertRows;
import dev.mixtral.proto.v1.ExpertServiceGrpc;
import dev.mixtral.proto.v1.NodeDescription;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;

import java.util.function.LongSupplier;

/**
 * ExpertService over this node's {@link LocalExperts}: unpacks a layer's rows, runs the same expert
 * code as a single process would, packs the outputs in the same order. Stateless between calls.
 */
final class ExpertServiceImpl extends ExpertServiceGrpc.ExpertServiceImplBase {
    private final LocalExperts experts;
    private final ModelConfig config;
    private final String fingerprint;
    private final String nodeName;
    private final LongSupplier mappedBytes;
    private final NodeStats stats;

    ExpertServiceImpl(LocalExperts experts, ModelConfig config, String fingerprint, String nodeName,
                      LongSupplier mappedBytes, NodeStats stats) {
        this.experts = experts;
        this.config = config;
        this.fingerprint = fingerprint;
        this.nodeName = nodeName;
        this.mappedBytes = mappedBytes;
        this.stats = stats;
    }

    @Override
    public void compute(ComputeRequest request, StreamObserver<ComputeResponse> response) {
        stats.enter();
        try {
            response.onNext(compute(request));
            response.onCompleted();
        } catch (IllegalArgumentException e) {
            response.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
        } catch (IllegalStateException e) {
            response.onError(Status.FAILED_PRECONDITION.withDescription(e.getMessage()).asRuntimeException());
        } finally {
            stats.exit();
        }
    }

    private ComputeResponse compute(ComputeRequest request) {
        if (!request.getModelFingerprint().isEmpty() && !request.getModelFingerprint().equals(fingerprint)) {
            throw new IllegalStateException("model fingerprint " + request.getModelFingerprint()
                    + " differs from this node's " + fingerprint + " (" + nodeName + ")");
        }
        GgmlType type = WireFormat.type(request.getDtype());
        int n = request.getInputsCount();
        int dim = config.dim();
        int[] ids = new int[n];
        int[] rows = new int[n];
        float[][] inputs = new float[n][];
        for (int i = 0; i < n; i++) {
            ExpertRows in = request.getInputs(i);
            ids[i] = in.getExpert();
            rows[i] = in.getRows();
            if ((long) rows[i] * dim > Integer.MAX_VALUE) throw new IllegalArgumentException("too many rows: " + rows[i]);
            try {
                inputs[i] = PackedRows.unpack(in.getData().asReadOnlyByteBuffer(), type, rows[i] * dim);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("expert " + ids[i] + ", " + rows[i] + " rows of dim " + dim + ": " + e.getMessage());
            }
        }
        long start = System.nanoTime();
        float[][] outputs = experts.compute(new ExpertBatch(request.getLayer(), ids, rows, inputs));
        long nanos = System.nanoTime() - start;
        stats.computed(ids, rows, nanos);

        ComputeResponse.Builder out = ComputeResponse.newBuilder().setDtype(request.getDtype()).setComputeNanos(nanos);
        for (int i = 0; i < n; i++) {
            out.addOutputs(ExpertRows.newBuilder().setExpert(ids[i]).setRows(rows[i])
                    // the array is ours alone: wrap it instead of copying
                    .setData(UnsafeByteOperations.unsafeWrap(PackedRows.pack(outputs[i], type))));
        }
        return out.build();
    }

    @Override
    public void describe(DescribeRequest request, StreamObserver<NodeDescription> response) {
        response.onNext(NodeDescription.newBuilder()
                .setModelFingerprint(fingerprint)
                .addAllExperts(experts.held())
                .setLayers(config.layers())
                .setDim(config.dim())
                .setTotalExperts(config.experts())
                .setInFlight(stats.inFlight())
                .setCallsServed(stats.calls())
                .setMappedBytes(mappedBytes.getAsLong())
                .setNodeName(nodeName)
                .build());
        response.onCompleted();
    }
}
