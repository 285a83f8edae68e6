package dev.mixtral.coordinator;

import java.util.SortedSet;
import java.util.TreeSet;

/**
 * Experts that cannot be computed right now: not covered by any node, or their node failed or timed
 * out. The message names the layer (when there is one), the experts and the node, for the user.
 */
public class ExpertUnavailableException extends RuntimeException {
    private final int layer;
    private final SortedSet<Integer> experts;
    private final String node;

    public ExpertUnavailableException(int layer, SortedSet<Integer> experts, String node, String message, Throwable cause) {
        super(message, cause);
        this.layer = layer;
        this.experts = new TreeSet<>(experts);
        this.node = node;
    }

    /** The layer of the failed call, or -1 when none was being computed (waiting for coverage). */
    public int layer() { return layer; }

    public SortedSet<Integer> experts() { return experts; }

    /** The node at fault, or null when no node covers the experts. */
    public String node() { return node; }
}
