package dev.mixtral.model.forward;

/**
 * Where experts run: the forward pass's only seam. In one process it is {@link LocalExperts}; in a
 * cluster the coordinator puts a remote implementation here that splits the batch over nodes.
 * Implementations hold no per-request state, so a call may be retried elsewhere.
 */
public interface ExpertExecutor {
    /**
     * Computes each expert's output for its rows: returns, for each {@code batch.experts()[i]}, a
     * {@code rows[i] × dim} row-major array in the same order as the inputs.
     */
    float[][] compute(ExpertBatch batch);
}
