package dev.mixtral.coordinator;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * Which nodes hold which experts: an immutable snapshot, replaced whole when membership changes, so a
 * layer's call sees one consistent table. An expert may be held by several nodes (replicas).
 */
public record RoutingTable(int totalExperts, List<RemoteNode> nodes) {
    public RoutingTable {
        // sorted by address: the choice of node per expert depends only on who is in the table
        nodes = nodes.stream().sorted(Comparator.comparing(RemoteNode::address).thenComparing(RemoteNode::id)).toList();
    }

    public static RoutingTable empty(int totalExperts) {
        return new RoutingTable(totalExperts, List.of());
    }

    public RoutingTable with(RemoteNode node) {
        List<RemoteNode> n = new ArrayList<>(without(node.id()).nodes);
        n.add(node);
        return new RoutingTable(totalExperts, n);
    }

    public RoutingTable without(String id) {
        return new RoutingTable(totalExperts, nodes.stream().filter(n -> !n.id().equals(id)).toList());
    }

    public boolean contains(String id) {
        return nodes.stream().anyMatch(n -> n.id().equals(id));
    }

    /** The nodes holding {@code expert}, in table order. */
    public List<RemoteNode> holders(int expert) {
        return nodes.stream().filter(n -> n.experts().contains(expert)).toList();
    }

    /**
     * The node that computes {@code expert}, or null if none holds it. Replicas share the experts by
     * index, so with R replicas each gets about 1/R of them; the choice is the same on every call.
     */
    public RemoteNode choose(int expert) {
        List<RemoteNode> h = holders(expert);
        return h.isEmpty() ? null : h.get(expert % h.size());
    }

    public SortedSet<Integer> missing() {
        SortedSet<Integer> m = new TreeSet<>();
        for (int e = 0; e < totalExperts; e++) if (holders(e).isEmpty()) m.add(e);
        return m;
    }

    public boolean complete() {
        return missing().isEmpty();
    }

    /** One line for logs: coverage and who holds what. */
    public String summary() {
        SortedSet<Integer> missing = missing();
        StringBuilder s = new StringBuilder(missing.isEmpty()
                ? "all " + totalExperts + " experts covered"
                : "experts " + missing + " of " + totalExperts + " NOT covered");
        s.append(" by ").append(nodes.size()).append(nodes.size() == 1 ? " node" : " nodes");
        for (RemoteNode n : nodes) s.append("; ").append(n.address()).append(" holds ").append(n.experts());
        return s.toString();
    }
}
