package dev.mixtral.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * Which experts each of {@code nodes} expert nodes holds, every expert on {@code replicas} of them: the one
 * placement rule of the project, used by {@code ./mixtral cluster --replicas} and by an expert node that is
 * told its place ({@code expert-node --placement INDEX/NODES/REPLICAS}, e.g. a StatefulSet pod from its ordinal).
 */
record Placement(int index, int nodes, int replicas) {
    Placement {
        if (nodes < 1) throw new IllegalArgumentException("the node count must be >= 1, got " + nodes);
        if (replicas < 1 || replicas > nodes) {
            throw new IllegalArgumentException("replicas must be between 1 and the number of nodes (" + nodes + "), got " + replicas);
        }
        if (index < 0 || index >= nodes) throw new IllegalArgumentException("node index must be 0.." + (nodes - 1) + ", got " + index);
    }

    /** {@code INDEX/NODES/REPLICAS}, e.g. {@code 3/8/2}. */
    static Placement parse(String text) {
        String[] parts = text.strip().split("/");
        try {
            if (parts.length != 3) throw new NumberFormatException();
            return new Placement(Integer.parseInt(parts[0].strip()), Integer.parseInt(parts[1].strip()), Integer.parseInt(parts[2].strip()));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--placement must be INDEX/NODES/REPLICAS (e.g. 3/8/2), got '" + text + "'");
        }
    }

    /** This node's experts of a model with {@code experts} experts per layer. */
    SortedSet<Integer> experts(int experts) {
        return shares(experts, nodes, replicas).get(index);
    }

    /**
     * Even shares: contiguous blocks of experts, node i holding block i; with replicas R, block i is also
     * on nodes i+1 … i+R-1 (mod n), so each expert is on exactly R distinct nodes, and nodes next to each
     * other in index order hold the same block (what a rolling update, one node at a time, relies on).
     */
    static List<SortedSet<Integer>> shares(int experts, int n, int replicas) {
        if (n < 1) throw new IllegalArgumentException("--nodes must be >= 1");
        if (replicas < 1 || replicas > n) throw new IllegalArgumentException("--replicas must be between 1 and the number of nodes (" + n + ")");
        if (n > experts * replicas) {
            throw new IllegalArgumentException(n + " nodes cannot all hold experts: the model has " + experts + " experts × " + replicas + " replicas");
        }
        List<SortedSet<Integer>> shares = new ArrayList<>();
        for (int i = 0; i < n; i++) shares.add(new TreeSet<>());
        for (int e = 0; e < experts; e++) {
            int block = (int) ((long) e * n / experts);
            for (int r = 0; r < replicas; r++) shares.get((block + r) % n).add(e);
        }
        return shares;
    }
}
