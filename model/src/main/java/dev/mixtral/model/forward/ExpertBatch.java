package dev.mixtral.model.forward;

/**
 * One layer's work for a set of experts: for each {@code experts[i]}, {@code rows[i]} token vectors of
 * width dim packed row-major in {@code inputs[i]}. The unit a node computes in one call.
 */
public record ExpertBatch(int layer, int[] experts, int[] rows, float[][] inputs) {
    public int totalRows() {
        int n = 0;
        for (int r : rows) n += r;
        return n;
    }
}
