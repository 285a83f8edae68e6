package dev.mixtral.node;

import com.google.protobuf.UnsafeByteOperations;
import dev.mixtral.model.ModelConfig;
import dev.mixtral.model.forward.ExpertBatch;
import dev.mixtral.cluster.WireFormat;
import dev.mixtral.model.tensor.GgmlType;
import dev.mixtral.model.tensor.PackedRows;
import dev.mixtral.proto.v1.ComputeRequest;
import dev.mixtral.proto.v1.ComputeResponse;
import dev.mixtral.proto.v1.DescribeRequest;
import dev.mixtral.proto.v1.ExpertRows;
import dev.mixtral.proto.v1.ExpertServiceGrpc;
import dev.mixtral.proto.v1.LoadExpertRequest;
import dev.mixtral.proto.v1.UnloadExpertRequest;
import dev.mixtral.proto.v1.NodeDescription;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;

/**
 * ExpertService over this node's {@link NodeExperts}: unpacks a layer's rows, runs the same expert
 * code as a single process would, packs the outputs in the same order. Stateless between calls; the
 * experts held change only by LoadExpert and UnloadExpert.
 */
final class ExpertServiceImpl extends ExpertServiceGrpc.ExpertServiceImplBase {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ExpertServiceImpl.class);
    private final NodeExperts experts;
    private final ModelConfig config;
    private final String fingerprint;
    private final String nodeName;
    private final NodeStats stats;

    ExpertServiceImpl(NodeExperts experts, ModelConfig config, String fingerprint, String nodeName, NodeStats stats) {
        this.experts = experts;
        this.config = config;
        this.fingerprint = fingerprint;
        this.nodeName = nodeName;
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
        checkFingerprint(request.getModelFingerprint());
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

    private void checkFingerprint(String theirs) {
        if (!theirs.isEmpty() && !theirs.equals(fingerprint)) {
            throw new IllegalStateException("model fingerprint " + theirs + " differs from this node's " + fingerprint + " (" + nodeName + ")");
        }
    }

    @Override
    public void loadExpert(LoadExpertRequest request, StreamObserver<NodeDescription> response) {
        change(response, () -> {
            checkFingerprint(request.getModelFingerprint());
            long before = experts.mappedBytes();
            experts.load(request.getExpert());
            if (experts.extras().contains(request.getExpert())) {
                LOG.info("loaded extra expert {} ({} KiB more mapped); extra experts now {} of at most {}", request.getExpert(),
                        (experts.mappedBytes() - before) / 1024, experts.extras(), experts.maxExtra());
            }
        });
    }

    @Override
    public void unloadExpert(UnloadExpertRequest request, StreamObserver<NodeDescription> response) {
        change(response, () -> {
            checkFingerprint(request.getModelFingerprint());
            experts.unload(request.getExpert());
            LOG.info("unloaded extra expert {}; extra experts now {}", request.getExpert(), experts.extras());
        });
    }

    /** Applies a change of the experts held and answers with the description after it, or the reason it was refused. */
    private void change(StreamObserver<NodeDescription> response, Runnable change) {
        try {
            change.run();
        } catch (NodeExperts.LimitReached e) {
            response.onError(Status.RESOURCE_EXHAUSTED.withDescription(e.getMessage()).asRuntimeException());
            return;
        } catch (IllegalArgumentException e) {
            response.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
            return;
        } catch (IllegalStateException e) {
            response.onError(Status.FAILED_PRECONDITION.withDescription(e.getMessage()).asRuntimeException());
            return;
        } catch (RuntimeException e) { // e.g. the file cannot be mapped: say so instead of an opaque UNKNOWN
            response.onError(Status.INTERNAL.withDescription(e.toString()).asRuntimeException());
            return;
        }
        response.onNext(description());
        response.onCompleted();
    }

    @Override
    public void describe(DescribeRequest request, StreamObserver<NodeDescription> response) {
        response.onNext(description());
        response.onCompleted();
    }

    private NodeDescription description() {
        return NodeDescription.newBuilder()
                .setModelFingerprint(fingerprint)
                .addAllExperts(experts.held())
                .addAllExtraExperts(experts.extras())
                .setMaxExtraExperts(experts.maxExtra())
                .setLayers(config.layers())
                .setDim(config.dim())
                .setTotalExperts(config.experts())
                .setInFlight(stats.inFlight())
                .setCallsServed(stats.calls())
                .setMappedBytes(experts.mappedBytes())
                .setNodeName(nodeName)
                .build();
    }
}
