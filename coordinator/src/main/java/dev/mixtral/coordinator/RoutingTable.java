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

    /** The node {@code id}, or null. */
    public RemoteNode node(String id) {
        return nodes.stream().filter(n -> n.id().equals(id)).findFirst().orElse(null);
    }

    /** The nodes holding {@code expert}, in table order. */
    public List<RemoteNode> holders(int expert) {
        return nodes.stream().filter(n -> n.experts().contains(expert)).toList();
    }

    /**
     * The node that computes {@code expert} in {@code layer}, or null if none holds it. Replicas take
     * turns by layer, so each of R holders computes the expert's tokens of about 1/R of the layers (and
     * with R replicas of every expert, each node about 1/R of all tokens); the choice is the same on
     * every call, and an extra replica of a hot expert takes its share at once.
     */
    public RemoteNode choose(int layer, int expert) {
        List<RemoteNode> h = holders(expert);
        return h.isEmpty() ? null : h.get((expert + layer) % h.size());
    }

    /** The node that computes {@code expert} in layer 0. */
    public RemoteNode choose(int expert) {
        return choose(0, expert);
    }

    /** The table with node {@code id} also computing {@code expert} (an extra replica); unchanged without that node. */
    public RoutingTable withExtra(String id, int expert) {
        return new RoutingTable(totalExperts, nodes.stream().map(n -> n.id().equals(id) ? n.withExtra(expert) : n).toList());
    }

    /** The table with node {@code id} no longer computing its extra {@code expert}. */
    public RoutingTable withoutExtra(String id, int expert) {
        return new RoutingTable(totalExperts, nodes.stream().map(n -> n.id().equals(id) ? n.withoutExtra(expert) : n).toList());
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
        for (RemoteNode n : nodes) {
            s.append("; ").append(n.address()).append(" holds ").append(n.placement());
            if (!n.extras().isEmpty()) s.append(" + extra ").append(n.extras());
        }
        return s.toString();
    }
}
