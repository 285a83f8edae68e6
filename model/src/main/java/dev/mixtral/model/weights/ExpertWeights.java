package dev.mixtral.model.weights;

import dev.mixtral.model.tensor.WeightMatrix;

/** One expert's SwiGLU feed-forward network: {@code down · (silu(gate · x) ⊙ (up · x))} (HF w1, w3, w2). */
public record ExpertWeights(WeightMatrix gate, WeightMatrix up, WeightMatrix down) {
}
