package dev.mixtral.coordinator;

import dev.mixtral.cluster.tls.ClusterTls;
import dev.mixtral.model.ModelConfig;
import dev.mixtral.proto.v1.NodeDescription;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Turns membership into the routing table. A node that comes up is checked (its advertised model
 * fingerprint, then its own Describe answer: fingerprint, shape, experts) before it is routed to; a node
 * that leaves, dies or becomes unreachable is taken out at once. Refusals and coverage changes are logged.
 */
public final class NodeRegistry implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(NodeRegistry.class);
    private static final Duration DESCRIBE_TIMEOUT = Duration.ofSeconds(5);
    private static final int DESCRIBE_ATTEMPTS = 5;
    /** Empty Compute calls that warm a new node's path before it is routed to (see {@link ConnectionWarmUp}). */
    public static final int DEFAULT_WARMUP_CALLS = 2000;
    private static final Duration WARMUP_CALL_TIMEOUT = Duration.ofSeconds(5);

    /** What membership tells about a node: identity, gRPC address and what it advertises (may be null). */
    public record Member(String id, String address, String fingerprint, String experts) {}

    private final String fingerprint;
    private final ModelConfig config;
    private final int warmUpCalls;
    private final ClusterTls tls;
    // one thread applies every change and retries Describe: no races between join, leave and answers
    private final ScheduledExecutorService worker = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "node-registry");
        t.setDaemon(true);
        return t;
    });
    private final Map<String, NodeClient> connecting = new HashMap<>();
    private final Map<String, String> refused = new java.util.concurrent.ConcurrentHashMap<>(); // id → "address: why"
    // taken out of the table after a failed call, before the failure detector decides; probed until they answer
    private final Map<String, RemoteNode> suspects = new HashMap<>();
    private final java.util.concurrent.atomic.AtomicLong suspicions = new java.util.concurrent.atomic.AtomicLong();
    private volatile RoutingTable table;
    private volatile boolean closing;

    public NodeRegistry(String fingerprint, ModelConfig config) {
        this(fingerprint, config, DEFAULT_WARMUP_CALLS);
    }

    /** {@code warmUpCalls}: empty calls each new node gets before it is routed to (0: none). */
    public NodeRegistry(String fingerprint, ModelConfig config, int warmUpCalls) {
        this(fingerprint, config, warmUpCalls, ClusterTls.PLAINTEXT);
    }

    /** {@code tls}: how the connections to the nodes are secured. */
    public NodeRegistry(String fingerprint, ModelConfig config, int warmUpCalls, ClusterTls tls) {
        if (warmUpCalls < 0) throw new IllegalArgumentException("warm-up calls must be >= 0, got " + warmUpCalls);
        this.fingerprint = fingerprint;
        this.config = config;
        this.warmUpCalls = warmUpCalls;
        this.tls = tls;
        this.table = RoutingTable.empty(config.experts());
    }

    int layers() {
        return config.layers();
    }

    int experts() {
        return config.experts();
    }

    public RoutingTable table() {
        return table;
    }

    public SortedSet<Integer> missing() {
        return table.missing();
    }

    /** Nodes that are members but not used, each as "address: why". */
    public java.util.Collection<String> refused() {
        return java.util.List.copyOf(refused.values());
    }

    public void nodeUp(Member m) {
        worker.execute(() -> up(m));
    }

    /** The reason {@link #nodeGone} gives for a node that leaves on purpose (drained, not failed). */
    static final String LEAVING = dev.mixtral.cluster.MemberEvents.LEAVING;

    public void nodeGone(String id, String why) {
        worker.execute(() -> gone(id, why));
    }

    /**
     * A call to {@code node} failed: stop routing to it now, so that later steps do not pay for the same
     * failure again, and probe it (Describe) every {@value #PROBE_INTERVAL_MS} ms; if it answers (it was
     * slow or briefly unreachable) it is routed to again, if membership says it is gone it is dropped.
     */
    public void suspect(RemoteNode node, String why) {
        worker.execute(() -> {
            // the table's record of this incarnation (its extra experts may have changed since the call was sent)
            RemoteNode current = table.nodes().stream().filter(n -> n.client() == node.client()).findFirst().orElse(null);
            if (closing || current == null) return;
            suspects.put(node.id(), current);
            suspicions.incrementAndGet();
            changed(table.without(current.id()), "expert node " + current + " suspected after a failed call (" + why + "), not routed to until it answers");
            worker.schedule(() -> probe(node), PROBE_INTERVAL_MS, TimeUnit.MILLISECONDS);
        });
    }

    private static final long PROBE_INTERVAL_MS = 1000;

    private void probe(RemoteNode node) {
        if (suspects.get(node.id()) != node || closing) return;
        node.client().describe(Duration.ofMillis(PROBE_INTERVAL_MS)).whenCompleteAsync((d, error) -> {
            if (suspects.get(node.id()) != node) return; // gone meanwhile
            if (error == null && check(d) == null) {
                suspects.remove(node.id());
                changed(table.with(node), "expert node " + node + " answers again, routed to again");
            } else {
                worker.schedule(() -> probe(node), PROBE_INTERVAL_MS, TimeUnit.MILLISECONDS);
            }
        }, worker);
    }

    /** How many times a node was suspected after a failed call. */
    public long suspicions() {
        return suspicions.get();
    }

    private void up(Member m) {
        if (table.contains(m.id()) || connecting.containsKey(m.id()) || suspects.containsKey(m.id())) return;
        if (m.fingerprint() != null && !m.fingerprint().equals(fingerprint)) {
            refuse(m, "it advertises model fingerprint " + m.fingerprint() + ", ours is " + fingerprint + " (a different model file)");
            return;
        }
        NodeClient client = new NodeClient(m.address(), tls);
        connecting.put(m.id(), client);
        describe(m, client, 1);
    }

    private void describe(Member m, NodeClient client, int attempt) {
        client.describe(DESCRIBE_TIMEOUT).whenCompleteAsync((d, error) -> described(m, client, attempt, d, error), worker);
    }

    private void described(Member m, NodeClient client, int attempt, NodeDescription d, Throwable error) {
        if (connecting.get(m.id()) != client) return; // gone meanwhile
        if (error != null) {
            if (attempt < DESCRIBE_ATTEMPTS) {
                worker.schedule(() -> {
                    if (connecting.get(m.id()) == client) describe(m, client, attempt + 1);
                }, 500L * attempt, TimeUnit.MILLISECONDS);
            } else {
                connecting.remove(m.id()).close();
                LOG.warn("expert node at {} is a cluster member but did not answer Describe ({} attempts): {}; not used",
                        m.address(), attempt, error.getMessage());
            }
            return;
        }
        String problem = check(d);
        if (problem != null) {
            connecting.remove(m.id());
            client.close();
            refuse(m, problem);
            return;
        }
        // its placement only: extra experts another coordinator loaded may be unloaded by it at any time
        TreeSet<Integer> placement = new TreeSet<>(d.getExpertsList());
        placement.removeAll(d.getExtraExpertsList());
        RemoteNode node = new RemoteNode(m.id(), m.address(), d.getNodeName(), placement, client);
        // still "connecting" while warming: if it leaves meanwhile, gone() closes the client and it is never routed to
        long start = System.nanoTime();
        ConnectionWarmUp.run(client, ConnectionWarmUp.probes(fingerprint, config.layers(), node.experts()), warmUpCalls, WARMUP_CALL_TIMEOUT)
                .whenCompleteAsync((calls, warmUpError) -> {
                    if (connecting.get(m.id()) != client) return; // gone meanwhile
                    connecting.remove(m.id());
                    if (warmUpError != null) {
                        // only an optimisation: real calls will tell whether the node works
                        LOG.warn("warming the connection to expert node {} failed ({}); using it anyway", node, warmUpError.getMessage());
                    } else if (calls > 0) {
                        LOG.debug("warmed the connection to expert node {} with {} calls in {} ms", node, calls, (System.nanoTime() - start) / 1_000_000);
                    }
                    changed(table.with(node), "expert node " + node + " joined with experts " + node.experts());
                }, worker);
    }

    /** Why a node cannot serve this coordinator's model, or null if it can. */
    private String check(NodeDescription d) {
        if (!d.getModelFingerprint().equals(fingerprint)) {
            return "its model fingerprint " + d.getModelFingerprint() + " differs from ours " + fingerprint + " (a different model file)";
        }
        if (d.getLayers() != config.layers() || d.getDim() != config.dim() || d.getTotalExperts() != config.experts()) {
            return "its model shape (layers " + d.getLayers() + ", dim " + d.getDim() + ", experts " + d.getTotalExperts()
                    + ") differs from ours (" + config.layers() + ", " + config.dim() + ", " + config.experts() + ")";
        }
        if (d.getExpertsCount() == 0) return "it holds no experts";
        for (int e : d.getExpertsList()) {
            if (e >= config.experts()) return "it claims expert " + e + " of a model with " + config.experts();
        }
        return null;
    }

    private void refuse(Member m, String why) {
        if (refused.putIfAbsent(m.id(), m.address() + ": " + why) == null) LOG.warn("refused expert node at {}: {}", m.address(), why);
    }

    private void gone(String id, String why) {
        refused.remove(id);
        RemoteNode suspect = suspects.remove(id);
        if (suspect != null) {
            LOG.info("expert node {} (suspected) {}", suspect, why);
            suspect.client().close();
        }
        NodeClient pending = connecting.remove(id);
        if (pending != null) pending.close();
        RemoteNode node = table.nodes().stream().filter(n -> n.id().equals(id)).findFirst().orElse(null);
        if (node == null) return;
        changed(table.without(id), "expert node " + node + " " + why + ", experts " + node.experts() + " lost");
        if (why.equals(LEAVING)) {
            // asked to stop: it serves its calls in flight before it goes (see ExpertNode.close)
            node.client().drain();
        } else {
            // after the table no longer offers it: calls in flight to it fail at once instead of waiting
            node.client().close();
        }
    }

    private void changed(RoutingTable next, String what) {
        synchronized (this) {
            table = next;
            notifyAll();
        }
        // while this coordinator leaves, every node "leaves" from its point of view: not news
        if (!closing) LOG.info("{}: {}", what, next.summary());
    }

    /**
     * Node {@code id} now holds {@code expert} as an extra expert (it answered LoadExpert): route a share
     * of that expert's tokens there. Completes when the table says so; false if the node is no longer in it.
     */
    java.util.concurrent.CompletableFuture<Boolean> addExtra(String id, int expert) {
        return java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            if (!table.contains(id)) return false;
            changed(table.withExtra(id, expert), "expert node " + id(id) + " computes a share of expert " + expert + " (an extra replica)");
            return true;
        }, worker);
    }

    /** Stops routing expert {@code expert} to node {@code id}, which holds it as an extra; false if it was not routed there. */
    java.util.concurrent.CompletableFuture<Boolean> removeExtra(String id, int expert) {
        return java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            RemoteNode node = table.nodes().stream().filter(n -> n.id().equals(id)).findFirst().orElse(null);
            if (node == null || !node.extras().contains(expert)) return false;
            changed(table.withoutExtra(id, expert), "expert node " + node + " no longer computes expert " + expert + " (extra replica dropped)");
            return true;
        }, worker);
    }

    private String id(String id) {
        return table.nodes().stream().filter(n -> n.id().equals(id)).map(RemoteNode::toString).findFirst().orElse(id);
    }

    /** Stops reporting membership changes: this coordinator is leaving the cluster. */
    void closing() {
        closing = true;
    }

    /** Waits until every expert is covered; else fails naming the experts still missing. */
    public void awaitCoverage(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (this) {
            while (!table.complete()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new ExpertUnavailableException(-1, table.missing(), null,
                            "experts " + table.missing() + " of " + config.experts() + " are not covered by any expert node after "
                                    + timeout.toSeconds() + "s (" + table.summary() + "); start nodes holding them (expert-node --experts …)"
                                    + " or wait longer (--wait-timeout)", null);
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(this, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new ExpertUnavailableException(-1, table.missing(), null, "interrupted while waiting for expert nodes", e);
                }
            }
        }
    }

    @Override
    public void close() {
        try {
            worker.submit(() -> {
                connecting.values().forEach(NodeClient::close);
                connecting.clear();
                table.nodes().forEach(n -> n.client().close());
                suspects.values().forEach(n -> n.client().close());
            }).get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            LOG.debug("closing node clients: {}", e.toString());
        } finally {
            worker.shutdownNow();
        }
    }
}
