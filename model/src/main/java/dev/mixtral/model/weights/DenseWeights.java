package dev.mixtral.model.weights;

import dev.mixtral.model.tensor.WeightMatrix;

import java.util.List;

/** Everything but the experts: what the coordinator holds. */
public record DenseWeights(WeightMatrix embedding, List<LayerWeights> layers, float[] outputNorm, WeightMatrix output) {
}
