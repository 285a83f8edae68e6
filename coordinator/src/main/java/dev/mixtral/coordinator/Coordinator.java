package dev.mixtral.coordinator;

import dev.mixtral.cluster.ClusterJoin;
import dev.mixtral.cluster.tls.ClusterTls;
import dev.mixtral.model.forward.ExpertBackend;
import dev.mixtral.model.forward.ExpertExecutor;
import dev.mixtral.model.tensor.GgmlType;
import dev.mixtral.model.weights.ModelFiles;

import java.time.Duration;
import java.util.List;

/**
 * The coordinator role: a cluster member that knows which expert nodes serve its model and computes
 * experts through them. As a model's {@link ExpertBackend} ({@code MixtralModel.openWith(path, files -> …)})
 * it owns its membership and connections: closing it leaves the cluster.
 */
public final class Coordinator implements ExpertBackend {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(Coordinator.class);

    /**
     * @param join        how to find the cluster: seeds ({@code host:port} of cluster members) or cluster bootstrap
     * @param host        this process's cluster address (reachable from the nodes)
     * @param clusterPort 0 for any free port
     * @param callTimeout deadline of every call to a node
     * @param wireType    activations on the wire: F32 (exact), BF16 or F16
     * @param hedging     when a call that has not answered is also sent to a replica
     * @param tls         how cluster traffic (membership, calls to the nodes) is secured
     * @param rebalance   whether and how often hot experts are replicated onto less loaded nodes
     */
    public record Settings(ClusterJoin join, String host, int clusterPort, Duration callTimeout, GgmlType wireType,
                           int nodeWarmUpCalls, Hedging.Policy hedging, ClusterTls tls, Rebalancer.Settings rebalance) {
        public Settings {
            if (callTimeout.isNegative() || callTimeout.isZero()) throw new IllegalArgumentException("the call timeout must be positive");
            if (nodeWarmUpCalls < 0) throw new IllegalArgumentException("the node warm-up calls must be >= 0");
        }

        /** Without rebalancing. */
        public Settings(ClusterJoin join, String host, int clusterPort, Duration callTimeout, GgmlType wireType,
                        int nodeWarmUpCalls, Hedging.Policy hedging, ClusterTls tls) {
            this(join, host, clusterPort, callTimeout, wireType, nodeWarmUpCalls, hedging, tls, Rebalancer.Settings.OFF);
        }

        /** Joining at {@code seeds}. */
        public Settings(List<String> seeds, String host, int clusterPort, Duration callTimeout, GgmlType wireType,
                        int nodeWarmUpCalls, Hedging.Policy hedging, ClusterTls tls) {
            this(ClusterJoin.seeds(seeds), host, clusterPort, callTimeout, wireType, nodeWarmUpCalls, hedging, tls);
        }

        public Settings(List<String> seeds, String host, int clusterPort, Duration callTimeout, GgmlType wireType,
                        int nodeWarmUpCalls, Hedging.Policy hedging) {
            this(seeds, host, clusterPort, callTimeout, wireType, nodeWarmUpCalls, hedging, ClusterTls.PLAINTEXT);
        }

        public Settings(List<String> seeds, String host, int clusterPort, Duration callTimeout, GgmlType wireType, int nodeWarmUpCalls) {
            this(seeds, host, clusterPort, callTimeout, wireType, nodeWarmUpCalls, Hedging.Policy.DEFAULT);
        }

        public Settings(List<String> seeds, String host, int clusterPort, Duration callTimeout, GgmlType wireType) {
            this(seeds, host, clusterPort, callTimeout, wireType, NodeRegistry.DEFAULT_WARMUP_CALLS);
        }

        public Settings withTls(ClusterTls tls) {
            return new Settings(join, host, clusterPort, callTimeout, wireType, nodeWarmUpCalls, hedging, tls, rebalance);
        }

        public Settings withRebalance(Rebalancer.Settings rebalance) {
            return new Settings(join, host, clusterPort, callTimeout, wireType, nodeWarmUpCalls, hedging, tls, rebalance);
        }
    }

    private final NodeRegistry registry;
    private final ClusterMembership membership;
    private final RemoteExperts experts;
    private final ClusterJoin join;
    private final Rebalancer rebalancer; // null: off

    private Coordinator(NodeRegistry registry, ClusterMembership membership, Settings s, ModelFiles files) {
        this.registry = registry;
        this.membership = membership;
        this.join = s.join();
        this.experts = new RemoteExperts(registry, files.fingerprint(), files.config().dim(), s.callTimeout(), s.wireType(), s.hedging());
        this.rebalancer = s.rebalance().enabled()
                ? new Rebalancer(registry, experts.load(), files.fingerprint(), s.rebalance(), s.callTimeout()) : null;
        if (rebalancer != null) rebalancer.start();
    }

    /** Joins the cluster; nodes are added to the routing table as they are found (see {@link #awaitReady}). */
    public static Coordinator join(Settings s, ModelFiles files) {
        NodeRegistry registry = new NodeRegistry(files.fingerprint(), files.config(), s.nodeWarmUpCalls(), s.tls());
        try {
            ClusterMembership membership = ClusterMembership.join(s.host(), s.clusterPort(), s.join(), registry, s.tls());
            LOG.info("coordinator {} joining the cluster; {}", membership.address(), s.join().explain(membership.address()));
            return new Coordinator(registry, membership, s, files);
        } catch (RuntimeException e) {
            registry.close();
            throw e;
        }
    }

    /** Waits until every expert is covered by some node; else throws naming the missing experts. */
    public void awaitReady(Duration timeout) {
        try {
            registry.awaitCoverage(timeout);
        } catch (ExpertUnavailableException e) {
            if (membership.joined()) throw e;
            throw new ExpertUnavailableException(-1, e.experts(), null, "could not join the cluster " + join.where()
                    + " within " + timeout.toSeconds() + "s: no member answered there (is an expert node running with that cluster address?)", e);
        }
    }

    public RemoteExperts experts() {
        return experts;
    }

    /** How many times a node was taken out of routing after a failed call, before membership said anything. */
    public long suspicions() {
        return registry.suspicions();
    }

    @Override
    public ExpertExecutor executor() {
        return experts;
    }

    @Override
    public String notReady() {
        var missing = registry.table().missing();
        return missing.isEmpty() ? null : "experts " + missing + " are not held by any live expert node";
    }

    @Override
    public String statistics() {
        var s = experts.stats().snapshot();
        return String.format("[experts on %d nodes: %d layer calls, %.2f ms each (%.2f ms outside the nodes' compute), %.1f KiB sent + %.1f KiB received]",
                registry.table().nodes().size(), s.layerCalls(), s.wallMsPerLayer(), s.overheadMsPerLayer(),
                s.bytesSent() / 1024.0, s.bytesReceived() / 1024.0);
    }

    @Override
    public void observeNodeCalls(NodeCallObserver observer) {
        experts.observe(observer::nodeCall);
    }

    /** Extra replicas of hot experts added and dropped so far (0 without rebalancing). */
    public long replications() {
        return rebalancer == null ? 0 : rebalancer.added() + rebalancer.dropped();
    }

    /** Extra replicas added so far. */
    public long replicasAdded() {
        return rebalancer == null ? 0 : rebalancer.added();
    }

    /** Extra replicas dropped so far. */
    public long replicasDropped() {
        return rebalancer == null ? 0 : rebalancer.dropped();
    }

    public RoutingTable routingTable() {
        return registry.table();
    }

    /** Expert nodes in the cluster that this coordinator refused, each as "address: why". */
    public java.util.Collection<String> refusedNodes() {
        return registry.refused();
    }

    public String clusterAddress() {
        return membership.address();
    }

    /** Cluster addresses of the coordinators serving the same nodes, this one included (once up). */
    public List<String> coordinators() {
        return membership.coordinators();
    }

    /** Leaves the cluster, then closes the connections to the nodes. Idempotent. */
    @Override
    public synchronized void close() {
        if (rebalancer != null) rebalancer.close(); // gives the nodes their memory back while still connected
        registry.closing();
        membership.close();
        registry.close();
    }
}
