package dev.mixtral.model.weights;

/** The three matrices of an expert's feed-forward network, in the order both file formats list them. */
public enum ExpertProjection {
    /** {@code w1}: the SiLU-gated half of the first layer. */
    GATE,
    /** {@code w2}: back from the hidden width to the model width. */
    DOWN,
    /** {@code w3}: the linear half of the first layer. */
    UP
}
