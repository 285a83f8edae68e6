package dev.mixtral.coordinator;

import java.util.Collection;
import java.util.HashMap;
import java.util.Map;

/**
 * Routed tokens per expert node and per (layer, expert) over a sliding window of the last
 * {@value #WINDOW_SECONDS} s, counted where they were computed (after failover and hedging). Its
 * {@link #balancedness} is what vLLM's expert-parallel load balancer logs: mean ÷ max tokens per node,
 * 1.0 when every node computes as many tokens as the others.
 */
public final class ExpertLoad {
    static final int WINDOW_SECONDS = 30;

    private final int layers;
    private final int experts;
    private final Bucket[] buckets = new Bucket[WINDOW_SECONDS];

    /** One second's counts. */
    private final class Bucket {
        final long second;
        final Map<String, Long> nodes = new HashMap<>();
        final long[] perExpert = new long[layers * experts];

        Bucket(long second) {
            this.second = second;
        }
    }

    public ExpertLoad(int layers, int experts) {
        this.layers = layers;
        this.experts = experts;
    }

    /** {@code rows} tokens of {@code expert} in {@code layer} computed by the node at {@code node}. */
    synchronized void record(String node, int layer, int expert, int rows) {
        record(node, layer, expert, rows, System.currentTimeMillis() / 1000);
    }

    synchronized void record(String node, int layer, int expert, int rows, long second) {
        int slot = (int) (second % WINDOW_SECONDS);
        if (buckets[slot] == null || buckets[slot].second != second) buckets[slot] = new Bucket(second);
        buckets[slot].nodes.merge(node, (long) rows, Long::sum);
        buckets[slot].perExpert[layer * experts + expert] += rows;
    }

    /** Tokens each node computed in the window. */
    public synchronized Map<String, Long> perNode() {
        return perNode(System.currentTimeMillis() / 1000);
    }

    synchronized Map<String, Long> perNode(long now) {
        Map<String, Long> sum = new HashMap<>();
        for (Bucket b : buckets) if (live(b, now)) b.nodes.forEach((n, t) -> sum.merge(n, t, Long::sum));
        return sum;
    }

    /** Tokens per expert in the window, {@code [layer][expert]}. */
    public long[][] perExpert() {
        return perExpert(WINDOW_SECONDS);
    }

    /** Tokens per expert in the last {@code seconds} s (at most the window), {@code [layer][expert]}. */
    public long[][] perExpert(int seconds) {
        return perExpert(System.currentTimeMillis() / 1000, seconds);
    }

    synchronized long[][] perExpert(long now, int seconds) {
        long[][] sum = new long[layers][experts];
        for (Bucket b : buckets) {
            if (!live(b, now) || now - b.second >= seconds) continue;
            for (int i = 0; i < b.perExpert.length; i++) sum[i / experts][i % experts] += b.perExpert[i];
        }
        return sum;
    }

    /**
     * Mean ÷ max tokens per node over {@code nodes} (those serving now; one that computed nothing counts
     * as 0), 1.0 when nothing was computed in the window.
     */
    public double balancedness(Collection<String> nodes) {
        return balancedness(nodes, perNode());
    }

    static double balancedness(Collection<String> nodes, Map<String, Long> load) {
        if (nodes.isEmpty()) return 1.0;
        long max = 0, sum = 0;
        for (String n : nodes) {
            long t = load.getOrDefault(n, 0L);
            max = Math.max(max, t);
            sum += t;
        }
        return max == 0 ? 1.0 : (double) sum / nodes.size() / max;
    }

    private static boolean live(Bucket b, long now) {
        return b != null && now - b.second < WINDOW_SECONDS;
    }
}
