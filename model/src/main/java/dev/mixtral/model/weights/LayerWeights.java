package dev.mixtral.model.weights;

import dev.mixtral.model.tensor.WeightMatrix;

/** The dense (non-expert) weights of one transformer block: attention, norms and the router. */
public record LayerWeights(float[] attnNorm, WeightMatrix wq, WeightMatrix wk, WeightMatrix wv, WeightMatrix wo,
                           float[] ffnNorm, WeightMatrix router) {
}
