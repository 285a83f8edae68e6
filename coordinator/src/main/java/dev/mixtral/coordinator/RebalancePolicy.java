package dev.mixtral.coordinator;

import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

/**
 * When to add or drop an extra replica of an expert, decided from the tokens each (layer, expert)
 * received lately. Which node computes a (layer, expert) follows from the routing table alone
 * ({@link RoutingTable#choose(int, int)}), and how many tokens an expert gets does not depend on where it
 * runs, so the load each node would have under any candidate table is predicted exactly for the
 * recent traffic, without trying it.
 *
 * <p>Hysteresis, so that it does not flap: a replica is added only while balancedness (mean ÷ max
 * tokens per node) is below {@code addBelow} and the addition raises it by at least {@code minGain}; one
 * is dropped only if balancedness stays at or above {@code dropAbove} (> {@code addBelow}) without it. So
 * a drop never undoes an addition the same traffic called for, and an addition never follows a drop.
 *
 * @param addBelow  add while balancedness is below this
 * @param dropAbove drop an extra replica if balancedness without it is at least this
 * @param minGain   an addition must raise balancedness by at least this
 * @param minTokens add only when the window saw at least this many tokens (too few say nothing)
 */
public record RebalancePolicy(double addBelow, double dropAbove, double minGain, long minTokens) {
    public static final RebalancePolicy DEFAULT = new RebalancePolicy(0.8, 0.9, 0.05, 256);

    public RebalancePolicy {
        if (!(addBelow > 0 && addBelow < dropAbove && dropAbove <= 1)) {
            throw new IllegalArgumentException("need 0 < addBelow < dropAbove <= 1, got " + addBelow + ", " + dropAbove);
        }
        if (!(minGain > 0) || minTokens < 0) throw new IllegalArgumentException("minGain must be > 0 and minTokens >= 0");
    }

    /** One change: node {@code node} starts or stops computing a share of {@code expert}; balancedness predicted before and after. */
    public record Change(boolean add, RemoteNode node, int expert, double before, double after) {
        @Override
        public String toString() {
            return (add ? "replicate expert " + expert + " onto " : "drop the extra replica of expert " + expert + " on ") + node
                    + String.format(" (balancedness %.3f → %.3f)", before, after);
        }
    }

    /**
     * The change to make now, if any: dropping an extra replica that is no longer needed first, else
     * adding the replica that raises balancedness most (in practice a hot expert of the most loaded node
     * onto the least loaded node without it).
     *
     * @param load tokens per {@code [layer][expert]} lately
     * @param full nodes that refused to hold more extra experts (their bound is reached)
     */
    public Optional<Change> decide(RoutingTable table, long[][] load, Set<String> full) {
        if (table.nodes().size() < 2) return Optional.empty();
        double now = balancedness(table, load);
        Comparator<Change> better = Comparator.comparingDouble(Change::after)
                .thenComparing(c -> -spread(c.add() ? table.withExtra(c.node().id(), c.expert()) : table.withoutExtra(c.node().id(), c.expert()), load));
        Optional<Change> drop = table.nodes().stream()
                .flatMap(n -> n.extras().stream().map(e -> new Change(false, n, e, now, balancedness(table.withoutExtra(n.id(), e), load))))
                .filter(c -> c.after() >= dropAbove)
                .max(better);
        if (drop.isPresent()) return drop;
        if (now >= addBelow || total(load) < minTokens) return Optional.empty();
        return table.nodes().stream()
                .filter(n -> !full.contains(n.id()))
                .flatMap(n -> Stream.iterate(0, e -> e < table.totalExperts(), e -> e + 1)
                        .filter(e -> !n.experts().contains(e) && tokens(load, e) > 0)
                        .map(e -> new Change(true, n, e, now, balancedness(table.withExtra(n.id(), e), load))))
                .filter(c -> c.after() >= now + minGain)
                .max(better);
    }

    /** Tokens each node of {@code table} would have computed for {@code load}, by address. */
    static Map<String, Long> perNode(RoutingTable table, long[][] load) {
        Map<String, Long> perNode = new HashMap<>();
        for (RemoteNode n : table.nodes()) perNode.put(n.address(), 0L);
        for (int l = 0; l < load.length; l++) {
            for (int e = 0; e < load[l].length; e++) {
                RemoteNode n = table.choose(l, e);
                if (n != null && load[l][e] > 0) perNode.merge(n.address(), load[l][e], Long::sum);
            }
        }
        return perNode;
    }

    static double balancedness(RoutingTable table, long[][] load) {
        return ExpertLoad.balancedness(table.nodes().stream().map(RemoteNode::address).toList(), perNode(table, load));
    }

    /** Sum of squared loads: among changes with the same balancedness, the one spreading the rest more evenly is better. */
    private static double spread(RoutingTable table, long[][] load) {
        double s = 0;
        for (long t : perNode(table, load).values()) s += (double) t * t;
        return s;
    }

    private static long total(long[][] load) {
        long t = 0;
        for (long[] l : load) for (long x : l) t += x;
        return t;
    }

    private static long tokens(long[][] load, int expert) {
        long t = 0;
        for (long[] l : load) t += l[expert];
        return t;
    }
}
