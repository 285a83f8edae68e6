package dev.mixtral.model.weights;

import dev.mixtral.model.ModelConfig;
import dev.mixtral.model.tensor.WeightMatrix;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.ArrayList;
import java.util.List;

/**
 * What the two file formats share: the model's tensors looked up through the format's {@link TensorNames},
 * shapes checked against the config, and the fingerprint. A format supplies how a named tensor is mapped.
 */
abstract class NamedModelFiles implements ModelFiles {
    /** How many bytes of each tensor's data the fingerprint reads. */
    static final int HEAD_BYTES = 64;

    private final TensorNames names;

    NamedModelFiles(TensorNames names) {
        this.names = names;
    }

    /** The named matrix, {@code rows × cols}; a clear error when it is missing or shaped otherwise. */
    abstract WeightMatrix matrix(String name, int rows, int cols);

    /** The named vector of {@code n} values, read into the heap. */
    abstract float[] vector(String name, int n);

    /** Whether the file has no output head and the embedding serves as one. */
    abstract boolean tiedOutput();

    /** One expert's matrix; formats that stack a layer's experts in one tensor override this. */
    WeightMatrix expertMatrix(int layer, int expert, ExpertProjection projection, int rows, int cols) {
        return matrix(names.expert(layer, expert, projection), rows, cols);
    }

    /**
     * A tensor as the fingerprint sees it: name, type as the file states it, shape, and the first bytes of its
     * data (null when they are not part of it).
     */
    record FingerprintedTensor(String name, String type, long[] shape, byte[] head) {}

    /** The tensors the fingerprint covers, in a fixed order. */
    abstract List<FingerprintedTensor> fingerprintedTensors();

    @Override
    public final DenseWeights loadDense() {
        ModelConfig c = config();
        List<LayerWeights> layers = new ArrayList<>();
        for (int l = 0; l < c.layers(); l++) {
            layers.add(new LayerWeights(
                    vector(names.attentionNorm(l), c.dim()),
                    matrix(names.query(l), c.qDim(), c.dim()),
                    matrix(names.key(l), c.kvDim(), c.dim()),
                    matrix(names.value(l), c.kvDim(), c.dim()),
                    matrix(names.attentionOutput(l), c.dim(), c.qDim()),
                    vector(names.ffnNorm(l), c.dim()),
                    matrix(names.router(l), c.experts(), c.dim())));
        }
        WeightMatrix embedding = matrix(names.embedding(), c.vocab(), c.dim());
        WeightMatrix output = tiedOutput() ? embedding : matrix(names.output(), c.vocab(), c.dim());
        return new DenseWeights(embedding, List.copyOf(layers), vector(names.outputNorm(), c.dim()), output);
    }

    @Override
    public final ExpertWeights loadExpert(int layer, int expert) {
        ModelConfig c = config();
        if (expert < 0 || expert >= c.experts()) {
            throw new IllegalArgumentException("expert " + expert + " out of range 0.." + (c.experts() - 1));
        }
        return new ExpertWeights(
                expertMatrix(layer, expert, ExpertProjection.GATE, c.hidden(), c.dim()),
                expertMatrix(layer, expert, ExpertProjection.UP, c.hidden(), c.dim()),
                expertMatrix(layer, expert, ExpertProjection.DOWN, c.dim(), c.hidden()));
    }

    /** SHA-256 over the config, every tensor's name, type and shape, and the first {@link #HEAD_BYTES} of its data. */
    @Override
    public final String fingerprint() {
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        sha.update(config().describe().getBytes());
        for (FingerprintedTensor t : fingerprintedTensors()) {
            sha.update((t.name() + ":" + t.type() + ":" + Arrays.toString(t.shape()) + ";").getBytes());
            if (t.head() != null) sha.update(t.head());
        }
        return HexFormat.of().formatHex(sha.digest(), 0, 12);
    }
}
