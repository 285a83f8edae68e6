package dev.mixtral.model.weights;

/**
 * What a file format calls each tensor of a Mixtral model: one table per format ({@link GgufTensorNames},
 * {@link HuggingFaceTensorNames}), used by its reader and by the synthetic writer.
 */
public interface TensorNames {
    String embedding();

    String attentionNorm(int layer);

    String query(int layer);

    String key(int layer);

    String value(int layer);

    String attentionOutput(int layer);

    String ffnNorm(int layer);

    String router(int layer);

    /** One expert's matrix, stored as a tensor of its own. */
    String expert(int layer, int expert, ExpertProjection projection);

    String outputNorm();

    String output();
}
